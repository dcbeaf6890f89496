/**
 * GENERATED CODE - DO NOT MODIFY
 */
import {
  type LexiconDoc,
  Lexicons,
  ValidationError,
  type ValidationResult,
} from '@atproto/lexicon'
import { type $Typed, is$typed, maybe$typed } from './util.js'

export const schemaDict = {
  ComAtprotoLexiconResolveLexicon: {
    lexicon: 1,
    id: 'com.atproto.lexicon.resolveLexicon',
    defs: {
      main: {
        type: 'query',
        description: 'Resolves an atproto lexicon (NSID) to a schema.',
        parameters: {
          type: 'params',
          properties: {
            nsid: {
              format: 'nsid',
              type: 'string',
              description: 'The lexicon NSID to resolve.',
            },
          },
          required: ['nsid'],
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            properties: {
              cid: {
                type: 'string',
                format: 'cid',
                description: 'The CID of the lexicon schema record.',
              },
              schema: {
                type: 'ref',
                ref: 'lex:com.atproto.lexicon.schema',
                description: 'The resolved lexicon schema record.',
              },
              uri: {
                type: 'string',
                format: 'at-uri',
                description: 'The AT-URI of the lexicon schema record.',
              },
            },
            required: ['uri', 'cid', 'schema'],
          },
        },
        errors: [
          {
            description: 'No lexicon was resolved for the NSID.',
            name: 'LexiconNotFound',
          },
        ],
      },
    },
  },
  ComAtprotoLexiconSchema: {
    lexicon: 1,
    id: 'com.atproto.lexicon.schema',
    defs: {
      main: {
        type: 'record',
        description:
          'Lexicon schema for when schemas themselves are represented as atproto records. Note that the full schema language is not defined in Lexicon. This schema is protocol-layer, and designed to be flexible and forwards-compatible, and does not follow normal schema best practices.',
        key: 'nsid',
        record: {
          type: 'object',
          required: ['lexicon'],
          properties: {
            lexicon: {
              type: 'integer',
              description:
                "Indicates the 'version' of the Lexicon language. Must be '1' for the current atproto/Lexicon schema system.",
            },
            id: {
              type: 'string',
              format: 'nsid',
              description:
                "The NSID of this overall set of Lexicon definitions. Must match the record key of this record. Must not include a fragment (separated by a #), even '#main'.",
            },
            description: {
              type: 'string',
              description:
                'Short top-level description of the Lexicon (distinct from descriptions of any sub-fields)',
            },
            defs: {
              type: 'unknown',
              description:
                'The Lexicon schema definitions themselves, with structure defined in the atproto Lexicon specifications.',
            },
          },
        },
      },
    },
  },
  DevCocoreAccountCreateApiKey: {
    lexicon: 1,
    id: 'dev.cocore.account.createApiKey',
    defs: {
      main: {
        type: 'procedure',
        description:
          'Mint a new cocore API key for the authenticated account. Authenticate with either a console session cookie or an existing `Authorization: Bearer cocore-...` key. The full secret is returned exactly once in `secret` and is never retrievable again — only its SHA-256 hash is stored. Use the returned key to authenticate subsequent automated requests (inference, the record proxy, and these key-management methods themselves).',
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['name'],
            nullable: ['expiresAt'],
            properties: {
              name: {
                type: 'string',
                minLength: 1,
                maxLength: 100,
                description:
                  'Human-readable label so the owner can tell their keys apart.',
              },
              expiresAt: {
                type: 'string',
                format: 'datetime',
                description:
                  'Optional RFC3339 expiry. Omit (or send null) for a key that never expires on its own.',
              },
              scopes: {
                type: 'array',
                minLength: 1,
                items: {
                  type: 'string',
                  knownValues: [
                    'account:read',
                    'account:write',
                    'inference',
                    'records',
                  ],
                  maxLength: 64,
                },
                description:
                  "What the new key may do. `account:read`: listApiKeys; `account:write`: every method that changes keys (implies `account:read`); `inference`: the inference service; `records`: the record proxy. getSession needs no scope. A key may only mint keys within its own scopes (sessions and service auth hold every scope); an unknown value or an empty list is a 400 InvalidRequest. Omit it for a key with the caller's own scopes: every scope when the caller is a session, service auth or an unscoped key, as before scopes existed.",
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['key', 'secret'],
            properties: {
              key: {
                type: 'ref',
                ref: 'lex:dev.cocore.account.defs#apiKeyView',
              },
              secret: {
                type: 'string',
                description:
                  'The full plaintext key (`cocore-<43 url-safe base64 chars>`). Shown exactly once; store it now.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'KeyLimitReached',
            description:
              'The account already has as many live (unrevoked, unexpired) keys as the server allows; revoke or delete one first.',
          },
          {
            name: 'StoredKeyLimitReached',
            description:
              'The account already stores as many keys as the server allows, revoked and expired ones included; delete old keys first.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:write` scope this method needs (a key minted with `scopes`), or `scopes` asks for a scope the caller does not hold; nothing was changed.',
          },
        ],
      },
    },
  },
  DevCocoreAccountDefs: {
    lexicon: 1,
    id: 'dev.cocore.account.defs',
    description: 'Shared type definitions for dev.cocore.account.* methods.',
    defs: {
      apiKeyView: {
        type: 'object',
        description:
          'Public metadata for a single API key. Never contains the secret — the full key is returned exactly once, by createApiKey, and is unrecoverable afterwards. The server persists only a SHA-256 hash of the secret plus the displayable `prefix`.',
        required: ['id', 'did', 'name', 'prefix', 'createdAt'],
        properties: {
          id: {
            type: 'string',
            description:
              'Stable identifier for this key. Pass it to revokeApiKey / deleteApiKey.',
          },
          did: {
            type: 'string',
            format: 'did',
            description: 'DID of the account that owns this key.',
          },
          name: {
            type: 'string',
            maxLength: 100,
            description: 'Human-readable label set at creation time.',
          },
          prefix: {
            type: 'string',
            description:
              'First characters of the key (e.g. `cocore-AbCd1234`), stored in plaintext so a key can be recognised in a list without revealing the secret.',
          },
          createdAt: {
            type: 'string',
            format: 'datetime',
            description: 'When the key was minted.',
          },
          expiresAt: {
            type: 'string',
            format: 'datetime',
            description:
              'Optional expiry. Absent means the key never expires on its own.',
          },
          revokedAt: {
            type: 'string',
            format: 'datetime',
            description:
              'Set when the key was revoked. A revoked key no longer authenticates but the row survives for audit until deleteApiKey removes it.',
          },
          lastUsedAt: {
            type: 'string',
            format: 'datetime',
            description:
              'Last time the key successfully authenticated a request. Absent if never used.',
          },
          scopes: {
            type: 'array',
            items: {
              type: 'string',
              knownValues: [
                'account:read',
                'account:write',
                'inference',
                'records',
              ],
            },
            description:
              'What the key may do: account:read (listApiKeys), account:write (every method that changes keys; implies account:read), inference, records. Present for every key minted with scopes; absent for an unscoped key, which holds every scope.',
          },
          replacedBy: {
            type: 'string',
            description:
              "Set when rollApiKey replaced this key: the id of the key that replaces it. The key keeps working until its expiresAt (the roll's grace period).",
          },
        },
      },
    },
  },
  DevCocoreAccountDeleteApiKey: {
    lexicon: 1,
    id: 'dev.cocore.account.deleteApiKey',
    defs: {
      main: {
        type: 'procedure',
        description:
          "Hard-delete one of the authenticated account's API keys, removing the row entirely (no audit trail recovery afterwards). For most flows revokeApiKey is preferable; use this to clean up revoked or expired keys you no longer want listed. Scoped to the caller's DID. Idempotent: deleting an unknown key returns `deleted: false`.",
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['id'],
            properties: {
              id: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description:
                  'The `id` of the key to delete (from createApiKey or listApiKeys).',
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['deleted'],
            properties: {
              deleted: {
                type: 'boolean',
                description:
                  'True if a key owned by the caller was deleted by this call; false if no matching key existed.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:write` scope this method needs (a key minted with `scopes`); nothing was changed.',
          },
        ],
      },
    },
  },
  DevCocoreAccountDescribeService: {
    lexicon: 1,
    id: 'dev.cocore.account.describeService',
    defs: {
      main: {
        type: 'query',
        description:
          'Describe this account service: its version and the kinds of credential it accepts. Needs no authentication and touches no storage; it is what a client calls first.',
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['version', 'authTypes'],
            properties: {
              version: {
                type: 'string',
                description: "The server's version.",
              },
              authTypes: {
                type: 'array',
                description:
                  "The credential kinds this server accepts (see getSession's authType).",
                items: {
                  type: 'string',
                  knownValues: ['apiKey', 'session', 'serviceAuth'],
                },
              },
            },
          },
        },
      },
    },
  },
  DevCocoreAccountGetSession: {
    lexicon: 1,
    id: 'dev.cocore.account.getSession',
    defs: {
      main: {
        type: 'query',
        description:
          'Describe the credential presented: which account it authenticates and how. Lets automation check a key and the console ask who is signed in. Never returns a secret.',
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['did', 'authType'],
            properties: {
              did: {
                type: 'string',
                format: 'did',
                description: 'The DID of the authenticated account.',
              },
              authType: {
                type: 'string',
                description: 'The kind of credential presented.',
                knownValues: ['apiKey', 'session', 'serviceAuth'],
              },
              keyId: {
                type: 'string',
                description: 'The id of the API key, when authType is apiKey.',
              },
              prefix: {
                type: 'string',
                description:
                  'The displayable prefix of the API key, when authType is apiKey.',
              },
              handle: {
                type: 'string',
                format: 'handle',
                description:
                  "The account's handle when it signed in, for a console session begun by signing in (authType session). Shown to the person; the DID is what identifies the account.",
              },
              scopes: {
                type: 'array',
                items: {
                  type: 'string',
                  knownValues: [
                    'account:read',
                    'account:write',
                    'inference',
                    'records',
                  ],
                },
                description:
                  'The scopes the credential holds. Every scope for a console session, service auth and an unscoped key.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
        ],
      },
    },
  },
  DevCocoreAccountListApiKeys: {
    lexicon: 1,
    id: 'dev.cocore.account.listApiKeys',
    defs: {
      main: {
        type: 'query',
        description:
          "List every API key belonging to the authenticated account, most-recently-created first. The owning DID is derived from the credential presented (session cookie or `Authorization: Bearer cocore-...`); there is no way to list another account's keys. Secrets are never returned — see `apiKeyView`.",
        parameters: {
          type: 'params',
          properties: {
            limit: {
              type: 'integer',
              minimum: 1,
              maximum: 100,
              description:
                'Most keys in one page. Omit it to get every key of the account in one response, without `cursor`.',
            },
            cursor: {
              type: 'string',
              maxLength: 200,
              description:
                "The `cursor` of the previous page, as it was returned (opaque): the next page starts after that page's last key.",
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['keys'],
            properties: {
              keys: {
                type: 'array',
                items: {
                  type: 'ref',
                  ref: 'lex:dev.cocore.account.defs#apiKeyView',
                },
              },
              cursor: {
                type: 'string',
                description:
                  'Present when there may be more keys: send it back as `cursor` for the next page. Pages are keyset pages on (createdAt, id), so keys created while paging never shift them: they are newer than every page after the first. Absent on the last page and whenever `limit` is omitted.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:read` scope this method needs (a key minted with `scopes`).',
          },
        ],
      },
    },
  },
  DevCocoreAccountReportLeakedKeys: {
    lexicon: 1,
    id: 'dev.cocore.account.reportLeakedKeys',
    defs: {
      main: {
        type: 'procedure',
        description:
          "Report `cocore-` API key secrets found in public (a repository, a paste, a log): every live key among them is revoked at once on every instance, with every live key it minted (as revokeApiKey with `cascade`). No authentication: holding a secret is enough to end it. The answer is only how many of the reported secrets were live keys that this call revoked; it reveals nothing about their accounts. Each secret that is not a live key's (malformed, unknown, revoked or expired) counts as one failed authentication against the reporting address's limit; a report that would go over it revokes nothing.",
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['secrets'],
            properties: {
              secrets: {
                type: 'array',
                maxLength: 100,
                items: {
                  type: 'string',
                  maxLength: 200,
                },
                description:
                  'The secrets as found (`cocore-` followed by 43 characters). Duplicates count once.',
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['revoked'],
            properties: {
              revoked: {
                type: 'integer',
                minimum: 0,
                description:
                  "How many of the reported secrets' keys this call revoked (keys revoked through the cascade are not counted).",
              },
            },
          },
        },
        errors: [
          {
            name: 'RateLimitExceeded',
            description:
              "The reporting address has used up its failed-authentication limit, or this report's unknown secrets would go over it; nothing was revoked. Retry after `Retry-After` seconds.",
          },
        ],
      },
    },
  },
  DevCocoreAccountRevokeAllApiKeys: {
    lexicon: 1,
    id: 'dev.cocore.account.revokeAllApiKeys',
    defs: {
      main: {
        type: 'procedure',
        description:
          'Revoke every live API key of the authenticated account at once, the calling key included: the button for a suspected leak. Each key stops authenticating immediately on every instance, as with revokeApiKey, and stays listed as revoked. Console sessions are not ended. The input is an empty JSON object.',
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            properties: {},
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['revoked'],
            properties: {
              revoked: {
                type: 'integer',
                minimum: 0,
                description:
                  'How many keys this call revoked: every live key of the account (an expired or already revoked key is left as it is, and not counted). 0 when there was none.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:write` scope this method needs (a key minted with `scopes`); nothing was changed.',
          },
        ],
      },
    },
  },
  DevCocoreAccountRevokeApiKey: {
    lexicon: 1,
    id: 'dev.cocore.account.revokeApiKey',
    defs: {
      main: {
        type: 'procedure',
        description:
          "Revoke one of the authenticated account's API keys. The key stops authenticating immediately, but the row is retained with `revokedAt` set so it stays visible in listApiKeys as a revoked key (audit trail). Use deleteApiKey to remove it entirely. Scoped to the caller's DID — you cannot revoke another account's key. Idempotent: revoking an already-revoked or unknown key returns `revoked: false`.",
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['id'],
            properties: {
              id: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description:
                  'The `id` of the key to revoke (from createApiKey or listApiKeys).',
              },
              cascade: {
                type: 'boolean',
                default: false,
                description:
                  "Also revoke every live key this key minted, the keys those minted, and so on (through minted keys already revoked or expired too), in the same transaction: for a leaked key that may have minted others. Keys minted by a console session, service auth or the CLI are not the named key's descendants.",
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['revoked'],
            properties: {
              revoked: {
                type: 'boolean',
                description:
                  'True if a live key owned by the caller was revoked by this call; false if no matching unrevoked key existed. It is about the named key only: with `cascade`, its descendants are revoked even when this is false (the named key was already revoked).',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:write` scope this method needs (a key minted with `scopes`); nothing was changed.',
          },
        ],
      },
    },
  },
  DevCocoreAccountRollApiKey: {
    lexicon: 1,
    id: 'dev.cocore.account.rollApiKey',
    defs: {
      main: {
        type: 'procedure',
        description:
          "Rotate one of the authenticated account's API keys: mint a new key with the same name and scopes, and let the old one keep working only for a grace period (its `expiresAt` becomes now + `graceSeconds`, never later than an expiry it already had; with the default 0 it stops on the next request). The old key records the new one in `replacedBy` and cannot be rolled again. Both changes happen together or not at all; the old key's change reaches every instance like a revocation. The new key does not count against the live-key cap while the old one is in its grace period, but does count against the stored-key cap. The caller must hold every scope of the key it rolls. Like createApiKey, the full secret is returned exactly once.",
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['id'],
            nullable: ['expiresAt'],
            properties: {
              id: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description:
                  'The `id` of the live key to roll (from createApiKey or listApiKeys).',
              },
              graceSeconds: {
                type: 'integer',
                minimum: 0,
                maximum: 604800,
                default: 0,
                description:
                  'How long the old key keeps working, in seconds (at most 604800, 7 days). 0 (the default): it stops on the next request. Never extends an expiry the old key already had.',
              },
              expiresAt: {
                type: 'string',
                format: 'datetime',
                description:
                  "The new key's expiry, with createApiKey's rules; null: never. Omitted: none if the old key had none, else the old key's lifetime (expiresAt - createdAt) counted from now.",
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['key', 'secret', 'previous'],
            properties: {
              key: {
                type: 'ref',
                ref: 'lex:dev.cocore.account.defs#apiKeyView',
                description: 'The new key.',
              },
              secret: {
                type: 'string',
                description:
                  "The new key's full plaintext (`cocore-<43 url-safe base64 chars>`). Shown exactly once; store it now.",
              },
              previous: {
                type: 'ref',
                ref: 'lex:dev.cocore.account.defs#apiKeyView',
                description:
                  "The old key as it is now: its grace-period `expiresAt` and `replacedBy` set to the new key's id.",
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'InsufficientScope',
            description:
              'The calling key lacks account:write, or a scope of the key it would roll.',
          },
          {
            name: 'KeyNotFound',
            description:
              "The caller's account has no key with this id (it may belong to another account, or have been deleted).",
          },
          {
            name: 'StoredKeyLimitReached',
            description:
              'The account already stores as many keys as the server allows, revoked and expired ones included; delete old keys first.',
          },
        ],
      },
    },
  },
  DevCocoreAccountUpdateApiKey: {
    lexicon: 1,
    id: 'dev.cocore.account.updateApiKey',
    defs: {
      main: {
        type: 'procedure',
        description:
          "Rename one of the authenticated account's API keys; nothing else about the key changes (its secret, expiry and state stay as they are). The name follows createApiKey's rules. Scoped to the caller's DID: an unknown id or another account's key is `KeyNotFound`.",
        input: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['id', 'name'],
            properties: {
              id: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description:
                  'The `id` of the key to rename (from createApiKey or listApiKeys).',
              },
              name: {
                type: 'string',
                minLength: 1,
                maxLength: 100,
                description: "The key's new name, as in createApiKey.",
              },
            },
          },
        },
        output: {
          encoding: 'application/json',
          schema: {
            type: 'object',
            required: ['key'],
            properties: {
              key: {
                type: 'ref',
                ref: 'lex:dev.cocore.account.defs#apiKeyView',
                description: 'The key as it is now.',
              },
            },
          },
        },
        errors: [
          {
            name: 'AuthRequired',
            description: 'No valid session cookie or bearer key was presented.',
          },
          {
            name: 'KeyNotFound',
            description:
              "The caller's account has no key with this id (it may belong to another account, or have been deleted).",
          },
          {
            name: 'InsufficientScope',
            description:
              'The key presented is valid but does not hold the `account:write` scope this method needs (a key minted with `scopes`); nothing was changed.',
          },
        ],
      },
    },
  },
} as const satisfies Record<string, LexiconDoc>
export const schemas = Object.values(schemaDict) satisfies LexiconDoc[]
export const lexicons: Lexicons = new Lexicons(schemas)

export function validate<T extends { $type: string }>(
  v: unknown,
  id: string,
  hash: string,
  requiredType: true,
): ValidationResult<T>
export function validate<T extends { $type?: string }>(
  v: unknown,
  id: string,
  hash: string,
  requiredType?: false,
): ValidationResult<T>
export function validate(
  v: unknown,
  id: string,
  hash: string,
  requiredType?: boolean,
): ValidationResult {
  return (requiredType ? is$typed : maybe$typed)(v, id, hash)
    ? lexicons.validate(`${id}#${hash}`, v)
    : {
        success: false,
        error: new ValidationError(
          `Must be an object with "${hash === 'main' ? id : `${id}#${hash}`}" $type property`,
        ),
      }
}

export const ids = {
  ComAtprotoLexiconResolveLexicon: 'com.atproto.lexicon.resolveLexicon',
  ComAtprotoLexiconSchema: 'com.atproto.lexicon.schema',
  DevCocoreAccountCreateApiKey: 'dev.cocore.account.createApiKey',
  DevCocoreAccountDefs: 'dev.cocore.account.defs',
  DevCocoreAccountDeleteApiKey: 'dev.cocore.account.deleteApiKey',
  DevCocoreAccountDescribeService: 'dev.cocore.account.describeService',
  DevCocoreAccountGetSession: 'dev.cocore.account.getSession',
  DevCocoreAccountListApiKeys: 'dev.cocore.account.listApiKeys',
  DevCocoreAccountReportLeakedKeys: 'dev.cocore.account.reportLeakedKeys',
  DevCocoreAccountRevokeAllApiKeys: 'dev.cocore.account.revokeAllApiKeys',
  DevCocoreAccountRevokeApiKey: 'dev.cocore.account.revokeApiKey',
  DevCocoreAccountRollApiKey: 'dev.cocore.account.rollApiKey',
  DevCocoreAccountUpdateApiKey: 'dev.cocore.account.updateApiKey',
} as const
