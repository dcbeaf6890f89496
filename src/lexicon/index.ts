/**
 * GENERATED CODE - DO NOT MODIFY
 */
import {
  type Auth,
  type Options as XrpcOptions,
  Server as XrpcServer,
  type StreamConfigOrHandler,
  type MethodConfigOrHandler,
  createServer as createXrpcServer,
} from '@atproto/xrpc-server'
import { schemas } from './lexicons.js'
import * as ComAtprotoLexiconResolveLexicon from './types/com/atproto/lexicon/resolveLexicon.js'
import * as DevCocoreAccountCreateApiKey from './types/dev/cocore/account/createApiKey.js'
import * as DevCocoreAccountDeleteApiKey from './types/dev/cocore/account/deleteApiKey.js'
import * as DevCocoreAccountDescribeService from './types/dev/cocore/account/describeService.js'
import * as DevCocoreAccountGetSession from './types/dev/cocore/account/getSession.js'
import * as DevCocoreAccountListApiKeys from './types/dev/cocore/account/listApiKeys.js'
import * as DevCocoreAccountReportLeakedKeys from './types/dev/cocore/account/reportLeakedKeys.js'
import * as DevCocoreAccountRevokeAllApiKeys from './types/dev/cocore/account/revokeAllApiKeys.js'
import * as DevCocoreAccountRevokeApiKey from './types/dev/cocore/account/revokeApiKey.js'
import * as DevCocoreAccountRollApiKey from './types/dev/cocore/account/rollApiKey.js'
import * as DevCocoreAccountUpdateApiKey from './types/dev/cocore/account/updateApiKey.js'

export function createServer(options?: XrpcOptions): Server {
  return new Server(options)
}

export class Server {
  xrpc: XrpcServer
  com: ComNS
  dev: DevNS

  constructor(options?: XrpcOptions) {
    this.xrpc = createXrpcServer(schemas, options)
    this.com = new ComNS(this)
    this.dev = new DevNS(this)
  }
}

export class ComNS {
  _server: Server
  atproto: ComAtprotoNS

  constructor(server: Server) {
    this._server = server
    this.atproto = new ComAtprotoNS(server)
  }
}

export class ComAtprotoNS {
  _server: Server
  lexicon: ComAtprotoLexiconNS

  constructor(server: Server) {
    this._server = server
    this.lexicon = new ComAtprotoLexiconNS(server)
  }
}

export class ComAtprotoLexiconNS {
  _server: Server

  constructor(server: Server) {
    this._server = server
  }

  resolveLexicon<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      ComAtprotoLexiconResolveLexicon.QueryParams,
      ComAtprotoLexiconResolveLexicon.HandlerInput,
      ComAtprotoLexiconResolveLexicon.HandlerOutput
    >,
  ) {
    const nsid = 'com.atproto.lexicon.resolveLexicon' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }
}

export class DevNS {
  _server: Server
  cocore: DevCocoreNS

  constructor(server: Server) {
    this._server = server
    this.cocore = new DevCocoreNS(server)
  }
}

export class DevCocoreNS {
  _server: Server
  account: DevCocoreAccountNS

  constructor(server: Server) {
    this._server = server
    this.account = new DevCocoreAccountNS(server)
  }
}

export class DevCocoreAccountNS {
  _server: Server

  constructor(server: Server) {
    this._server = server
  }

  createApiKey<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountCreateApiKey.QueryParams,
      DevCocoreAccountCreateApiKey.HandlerInput,
      DevCocoreAccountCreateApiKey.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.createApiKey' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  deleteApiKey<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountDeleteApiKey.QueryParams,
      DevCocoreAccountDeleteApiKey.HandlerInput,
      DevCocoreAccountDeleteApiKey.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.deleteApiKey' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  describeService<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountDescribeService.QueryParams,
      DevCocoreAccountDescribeService.HandlerInput,
      DevCocoreAccountDescribeService.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.describeService' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  getSession<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountGetSession.QueryParams,
      DevCocoreAccountGetSession.HandlerInput,
      DevCocoreAccountGetSession.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.getSession' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  listApiKeys<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountListApiKeys.QueryParams,
      DevCocoreAccountListApiKeys.HandlerInput,
      DevCocoreAccountListApiKeys.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.listApiKeys' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  reportLeakedKeys<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountReportLeakedKeys.QueryParams,
      DevCocoreAccountReportLeakedKeys.HandlerInput,
      DevCocoreAccountReportLeakedKeys.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.reportLeakedKeys' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  revokeAllApiKeys<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountRevokeAllApiKeys.QueryParams,
      DevCocoreAccountRevokeAllApiKeys.HandlerInput,
      DevCocoreAccountRevokeAllApiKeys.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.revokeAllApiKeys' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  revokeApiKey<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountRevokeApiKey.QueryParams,
      DevCocoreAccountRevokeApiKey.HandlerInput,
      DevCocoreAccountRevokeApiKey.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.revokeApiKey' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  rollApiKey<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountRollApiKey.QueryParams,
      DevCocoreAccountRollApiKey.HandlerInput,
      DevCocoreAccountRollApiKey.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.rollApiKey' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }

  updateApiKey<A extends Auth = void>(
    cfg: MethodConfigOrHandler<
      A,
      DevCocoreAccountUpdateApiKey.QueryParams,
      DevCocoreAccountUpdateApiKey.HandlerInput,
      DevCocoreAccountUpdateApiKey.HandlerOutput
    >,
  ) {
    const nsid = 'dev.cocore.account.updateApiKey' // @ts-ignore
    return this._server.xrpc.method(nsid, cfg)
  }
}
