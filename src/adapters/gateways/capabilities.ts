// What each gateway type can express, without building one (for validate and plan).
import type {GatewayConfig} from '../../core/config/model.js'
import type {GatewayCapabilities} from '../../core/ports.js'
import {OCTET_CIDR_EXPECTED, octetCidrRegex} from './shenyu/cidr.js'

const EVERY_RULE: GatewayCapabilities['rules'] = ['equals', 'in', 'prefix', 'range', 'cidr']
const EVERY_KEY: GatewayCapabilities['sticky'] = ['cookie', 'header', 'query', 'ip']

const CAPABILITIES: Record<GatewayConfig['type'], GatewayCapabilities> = {
  sandbox: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  // nginx drops header names with characters other than letters, digits and "-" (underscores_in_headers off)
  nginx: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true, headerName: {pattern: /^[A-Za-z0-9-]+$/, expected: 'a header name nginx reads: letters, digits and "-" only (it drops names with "_" by default)'}},
  // the control plane behind it routes; the document carries everything
  http: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  // traffic-split picks an upstream per request (weighted round robin) and cannot set a header on gray requests only
  // maps and ACLs in gray's own frontend; the split is xxh32(key) mod 10000 (src/core/policy/split.ts)
  haproxy: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  // route rules with *_value_in / _prefix_in / _regmatch / req_cip_range; the split is req_*_hash_in (murmur3 % 10000)
  bfe: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: true, tag: true},
  // the divide plugin picks an upstream per request by weight and cannot set a header for gray upstreams only
  // and matches a client IP by its text (regex), so only octet-boundary IPv4 ranges
  shenyu: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: false, tag: false, cidr: {accepts: (cidr) => octetCidrRegex(cidr) !== null, expected: OCTET_CIDR_EXPECTED}},
  apisix: {rules: EVERY_RULE, sticky: EVERY_KEY, stickySplit: false, tag: false},
}

export function gatewayCapabilities(type: GatewayConfig['type']): GatewayCapabilities {
  const found = CAPABILITIES[type]
  return {rules: [...found.rules], sticky: [...found.sticky], stickySplit: found.stickySplit, tag: found.tag, ...(found.headerName ? {headerName: found.headerName} : {}), ...(found.cidr ? {cidr: found.cidr} : {})}
}
