import {Flags} from '@oclif/core'
import path from 'node:path'

import {ConfigError} from '../core/errors.js'
import {initConfig, INIT_TEMPLATES, serviceFromDir, serviceProblem, TEMPLATE_SUMMARIES, type InitResult, type InitTemplate} from '../services/init.js'
import {EXIT_CODES_HELP, GrayCommand} from '../ui/base.js'
import {canPrompt} from '../ui/interactive.js'

export default class Init extends GrayCommand {
  static override summary = 'Write a commented gray.yaml from a template.'
  static override description = `On a terminal it asks for what the flags leave out; without one (CI) --template and --service are required.
Refuses to overwrite an existing file unless --force (on a terminal it asks, unless --yes). The file starts with a $schema comment, so editors complete and check it.

TEMPLATES
${INIT_TEMPLATES.map((t) => `  ${t.padEnd(18)} ${TEMPLATE_SUMMARIES[t]}`).join('\n')}

${EXIT_CODES_HELP}`
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --template nginx-prometheus --service checkout',
    '<%= config.bin %> init --template sandbox --service demo -c deploy/gray.yaml --force --json',
  ]
  static override flags = {
    template: Flags.string({summary: 'The template to start from.', options: [...INIT_TEMPLATES]}),
    service: Flags.string({summary: 'The service name (names the run lock, the journal and gateway objects).'}),
    force: Flags.boolean({summary: 'Overwrite the file if it exists.'}),
  }

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(Init)
    const interactive = canPrompt(this.jsonEnabled())
    const template = (flags.template as InitTemplate | undefined) ?? (interactive ? await askTemplate() : missing('--template', INIT_TEMPLATES.join(', ')))
    const service = flags.service ?? (interactive ? await askService(path.dirname(path.resolve(flags.config))) : missing('--service', 'a name like checkout'))
    let force = flags.force
    // --yes asks no confirmation, and overwriting is only ever done by --force or a yes typed here
    if (!force && interactive && !flags.yes && (await exists(flags.config))) force = await askOverwrite(flags.config)
    const result = await initConfig({template, service, file: flags.config, force})
    if (!this.jsonEnabled()) {
      this.log(`wrote ${path.relative(process.cwd(), result.file) || result.file}: the ${template} template for ${service}`)
      this.log('next:')
      for (const step of result.next) this.log(`  ${step}`)
    }
    return this.finish(result, 0)
  }
}

function missing(flag: string, what: string): never {
  throw new ConfigError(`gray init needs ${flag} here: pass ${flag} (${what}); there is no terminal to ask on`)
}

async function exists(file: string): Promise<boolean> {
  const {existsSync} = await import('node:fs')
  return existsSync(file)
}

async function askTemplate(): Promise<InitTemplate> {
  const {select} = await import('@inquirer/prompts')
  return select<InitTemplate>({
    message: 'Which gateway and metrics does this service use?',
    choices: INIT_TEMPLATES.map((t) => ({name: t, value: t, description: TEMPLATE_SUMMARIES[t]})),
  })
}

async function askService(dir: string): Promise<string> {
  const {input} = await import('@inquirer/prompts')
  return input({
    message: 'Service name',
    default: serviceFromDir(dir) ?? undefined,
    validate: (value) => serviceProblem(value)?.replace(/^--service: /, '') ?? true,
  })
}

async function askOverwrite(file: string): Promise<boolean> {
  const {confirm} = await import('@inquirer/prompts')
  return confirm({message: `${file} exists. Overwrite it?`, default: false})
}
