// What a gateway or metric source registration builds its gray.yaml block with.
// Registrations take it as an argument (they import its type only), so reading
// the registry for `gray status` never loads the schema library.
import {z} from 'zod'

import {argv, duration, hostPort, httpUrl, label, strictObject, text, wholeNumber} from './values.js'

/** `instances`: the same gateway several times; each entry overrides the keys above for one instance. */
function instances<T extends z.ZodRawShape>(fields: T) {
  return z
    .array(strictObject({name: label('an instance name'), ...fields}), {error: 'must be a list of instances, each {name, ...}'})
    .min(1, {error: 'must list at least one instance'})
    .refine((list) => new Set(list.map((i) => (i as {name: string}).name)).size === list.length, {error: 'must give every instance its own name'})
    .optional()
    .describe('Several instances of this gateway (nodes behind a VIP): a publish is confirmed when every one serves it')
}

export const schemaKit = {z, argv, duration, hostPort, httpUrl, instances, label, strictObject, text, wholeNumber}

export type SchemaKit = typeof schemaKit
