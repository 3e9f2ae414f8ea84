/** Every scenario, in the order a run takes them. */
import type { Scenario } from '../lib/context.ts';
import { costScenario } from './cost.ts';
import { idleScenario } from './idle.ts';
import { maxScenario } from './max.ts';
import { paced25kScenario } from './paced.ts';
import { realisticScenario } from './realistic.ts';
import { replayClickhouseScenario, replayPostgresScenario } from './replay.ts';
import { seedScenario } from './seed.ts';
import { steadyScenario } from './steady.ts';

export const SCENARIOS: readonly Scenario[] = [
  idleScenario,
  seedScenario,
  maxScenario,
  steadyScenario,
  realisticScenario,
  costScenario,
  paced25kScenario,
  replayPostgresScenario,
  replayClickhouseScenario,
];

export const DEFAULT_SCENARIOS = SCENARIOS.filter((s) => !s.optIn).map((s) => s.id);
