// The package's public surface, for embedding the service or reusing its verifier.
export { AccountServer, type ServerOptions } from './server.js'
export { AppContext } from './context.js'
export { AuthVerifier, type Credentials, type AccountAuth } from './auth/verifier.js'
export { readConfig, type Config } from './config.js'
export { createLogger } from './logger.js'
export { createCredentialVerifier, type CredentialVerifier, type CredentialVerifierOptions } from './auth/credential-verifier.js'
export { knownScopes, grantsScope, type Scope } from './auth/scopes.js'
