// What each gateway type can express, without building one (for validate and plan):
// each declares it in its registration.
import type {GatewayConfig} from '../../core/config/model.js'
import type {GatewayCapabilities} from '../../core/ports.js'
import {gatewayRegistration} from './registry.js'

export function gatewayCapabilities(type: GatewayConfig['type']): GatewayCapabilities {
  const found = gatewayRegistration(type).capabilities
  return {rules: [...found.rules], sticky: [...found.sticky], stickySplit: found.stickySplit, tag: found.tag, ...(found.headerName ? {headerName: found.headerName} : {}), ...(found.cidr ? {cidr: found.cidr} : {}), ...(found.cohortSeed === false ? {cohortSeed: false} : {})}
}
