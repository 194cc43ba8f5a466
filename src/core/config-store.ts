// The port of a configuration store (a run of kind config, docs/config-release.md): the
// config gateway (src/adapters/gateways/config/) releases a value in gray through it;
// src/adapters/config-stores/<store>/ holds one adapter per store.

/** One value in a config store, with the store's revision of its last change. */
export interface StoredValue {
  value: Buffer
  /** etcd's mod_revision, Consul's ModifyIndex: changes whenever the key is written */
  modRevision: string
}

/** An atomic change: every put and delete, only if every key still has its expected revision ("0": absent). */
export interface StoreChange {
  expect: Array<{key: string; modRevision: string}>
  put: Array<{key: string; value: Buffer}>
  delete: string[]
}

/**
 * A key-value store that holds configuration (etcd; Consul or an HTTP config service can follow):
 * reads, and atomic compare-and-set changes. src/adapters/config-stores/ holds one per store.
 */
export interface ConfigStore {
  readonly type: string
  /** the store in messages: "etcd at http://127.0.0.1:2379" */
  readonly where: string
  /** the value at `key`, or null when there is none */
  get(key: string, signal?: AbortSignal): Promise<StoredValue | null>
  /** true once the change is made; false, changing nothing, when an expected revision did not hold */
  commit(change: StoreChange, signal?: AbortSignal): Promise<boolean>
  close?(): Promise<void>
}
