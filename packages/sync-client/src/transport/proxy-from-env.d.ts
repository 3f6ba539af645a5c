// proxy-from-env ships no types: the one function the agent uses.
declare module 'proxy-from-env' {
  export function getProxyForUrl(url: string | URL): string;
}
