/** The program shell both Twinbox programs share (README "Configuration"): command line, config files, exit statuses, signals. */
export { UsageError, parseCommandLine, required, wholeNumber, type CommandLine, type OptionSpecs, type ParsedValues } from './command-line.js';
export { EXIT, errorLines, exitStatusOf, guardSignals, isoTime, packageVersion, runProgram } from './program.js';
export { configError, fileProblem, keyName, loadConfigFile, readJsonFile, schemaProblems, syntaxErrorAt } from './config-file.js';
export { didYouMean, editDistance, nearestName } from './nearest.js';
