/** A bad configuration value: the entry points print its message and exit with code 2 (see loadConfigOrExit). */
export class ConfigError extends Error {}
