/**
 * A proxy the machine's environment names is not the tests' business: the agents they start reach the
 * loopback server directly unless a test gives them one (test/integration/proxy.test.ts).
 */
export const WITHOUT_PROXY_ENV: NodeJS.ProcessEnv = { HTTPS_PROXY: '', https_proxy: '', ALL_PROXY: '', all_proxy: '' };
