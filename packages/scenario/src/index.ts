export { parseScenario } from './parse.js';
export { runScenario, type RunOptions, type ScenarioResult } from './run.js';
export { sideBySide, checkExpectation } from './check.js';
export { ScenarioFileError, type Scenario, type Step, type Expectation } from './model.js';
