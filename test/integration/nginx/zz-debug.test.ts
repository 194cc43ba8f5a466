import {test, expect} from 'vitest'
import {execSync} from 'node:child_process'
import {NginxGateway} from '../../../src/adapters/gateways/nginx/index.js'
import {startNginx} from '../../support/nginx.js'
import {Client, cohortServer, policy, RULES, userServer, VARIABLE} from './support.js'
test('x', async () => {
  const s = await cohortServer('stable', 'a'); const g = await cohortServer('gray', 'b')
  const mk = (o: object) => policy([s.host], [g.host], o)
  let gw!: NginxGateway
  const nginx = await startNginx({includeName: 'checkout.conf', include: (p) => { gw = new NginxGateway({type:'nginx', include:p, variable:VARIABLE, test:['true'], reload:['true']}, 'checkout'); return gw.render(mk({mode:'plain'})) }, servers: userServer})
  gw = new NginxGateway({type:'nginx', include:nginx.includePath, variable:VARIABLE, test:nginx.testArgv, reload:nginx.reloadArgv}, 'checkout')
  const c = new Client(nginx.baseUrl)
  await gw.publish(mk({rules:[{kind:'cidr', cidrs:['127.0.0.0/8']}]}))
  console.log((await c.many(50, () => c.get('/'))).map(a=>a.cohort).join(','))
  await gw.publish(mk({weightBp: 5000}))
  console.log((await c.many(50, (i) => c.get('/', {cookie:`uid=x${i}`}))).map(a=>a.cohort).join(','))
  await gw.publish(mk({mode:'plain', rules: RULES}))
  console.log(execSync('ps -ef | grep "nginx:" | grep -v grep').toString())
  console.log((await c.many(50, (i) => c.get('/', {cookie:`uid=x${i}`, 'x-gray':'1'}))).map(a=>a.cohort).join(','))
  console.log(execSync(`curl -s -i ${nginx.baseUrl}/ -H 'x-gray: 1'`).toString())
  console.log(execSync(`cat ${nginx.errorLog}`).toString())
  await nginx.stop()
})
