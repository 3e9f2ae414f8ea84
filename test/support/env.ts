/**
 * Preloaded by `bun test` (bunfig.toml): the test suite runs the API in explicit development
 * mode with auth disabled, unless the caller configured otherwise. Tests of access control
 * configure keys themselves. Children spawned by tests inherit this environment.
 */
process.env['APP_ENV'] ??= 'development';
process.env['AUTH_DISABLED'] ??= 'true';
