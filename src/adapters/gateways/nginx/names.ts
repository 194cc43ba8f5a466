// The nginx variables gray reads requests through: $cookie_NAME, $http_NAME,
// $arg_NAME, $remote_addr. Names nginx cannot spell as a variable are pulled
// out of the raw header by a regex map instead.
import type {Field, StickyKey} from '../../../core/config/model.js'
import {GatewayError} from '../../../core/errors.js'
import {regexLiteral} from '../patterns.js'
import {regexKey} from './syntax.js'

const VARIABLE_NAME = /^[A-Za-z0-9_]+$/
/** what nginx accepts in a header name by default (ignore_invalid_headers on, underscores_in_headers off) */
const NGINX_HEADER = /^[A-Za-z0-9-]+$/

export interface FieldVariable {
  /** e.g. "$cookie_uid" */
  variable: string
  /** blocks that define it, when nginx has no built-in variable for the name */
  blocks: string[]
}

/** `prefix` names the helper variable when one is needed (e.g. "gray_checkout_upstream_f0"). */
export function fieldVariable(field: Field, prefix: string): FieldVariable {
  switch (field.source) {
    case 'header':
      if (!NGINX_HEADER.test(field.name)) {
        throw new GatewayError(
          `nginx cannot read header "${field.name}": by default it drops header names with characters other than letters, digits and "-"; rename the header in gray.yaml.`,
          {permanent: true},
        )
      }
      return {variable: `$http_${field.name.toLowerCase().replaceAll('-', '_')}`, blocks: []}
    case 'cookie':
      if (VARIABLE_NAME.test(field.name)) return {variable: `$cookie_${field.name}`, blocks: []}
      return extracted('$http_cookie', `(?:^|;)\\s*${regexLiteral(field.name)}=\\s*(?<gray_value>[^;]*?)\\s*(?:;|$)`, prefix)
    case 'query':
      if (VARIABLE_NAME.test(field.name)) return {variable: `$arg_${field.name}`, blocks: []}
      return extracted('$args', `(?:^|&)${regexLiteral(field.name)}=(?<gray_value>[^&]*)`, prefix)
  }
}

export function stickyVariable(sticky: StickyKey, prefix: string): FieldVariable {
  if (sticky.kind === 'ip') return {variable: '$remote_addr', blocks: []}
  return fieldVariable({source: sticky.kind, name: sticky.name}, prefix)
}

function extracted(source: string, pattern: string, name: string): FieldVariable {
  const block = [`map ${source} $${name} {`, `    ${regexKey(pattern)} $gray_value;`, '    default "";', '}'].join('\n')
  return {variable: `$${name}`, blocks: [block]}
}
