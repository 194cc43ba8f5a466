// Where a deploy attempt's full output goes; the journal keeps only its last
// lines. The services layer gives the driver a file-backed sink
// (src/adapters/deploy/log-files.ts); without one, only the tail is kept.

// DeployLog and DeployLogs are ports: they live in ../ports.ts with the others.
export type {DeployLog, DeployLogs} from '../ports.js'
