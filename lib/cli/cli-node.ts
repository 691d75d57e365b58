// Starting a command's node (`netkernel node`, `netkernel shell`) from its options: the
// checked ports, the transport (its own certificate checked against the node name under
// tls-cert auth), the seed's modules plus --module's, the logger --verbose/NETKERNEL_LOG
// ask for, and refused connections said through `say`.
import { startNode, type Node } from '../node.js'
import type { ModuleDef } from '../process/runtime.js'
import { UsageError, transportFromOptions, type BuiltTransport, type TransportValues } from './transport-options.js'
import { cookieOption, nodeNameOption, nodeOptionsFromCli, nodePortsFromCli, type NodeCliValues } from './node-options-from-cli.js'
import { ModuleLoadError, loadModules } from './shell-modules.js'
import { checkOwnCertificate } from './own-certificate.js'
import { seedModules } from './seed-modules.js'
import { loggerFromCli } from './cli-logger.js'
import { reportRefusals } from './refusal-report.js'

export interface CliNode {
  node: Node
  /** Close it after the node stopped. */
  built: BuiltTransport
  modules: Record<string, ModuleDef>
}

/** Throws UsageError for a wrong option, a NetkernelError when the node cannot start. */
export async function startCliNode(v: NodeCliValues & TransportValues, opts: { say: (line: string) => void }): Promise<CliNode> {
  nodeNameOption(v.sname, v.name)
  cookieOption(v.cookie)
  const ports = nodePortsFromCli(v)
  let modules: Record<string, ModuleDef>
  try {
    modules = { ...seedModules, ...(await loadModules(v.module ?? [])) }
  } catch (err) {
    if (err instanceof ModuleLoadError) throw new UsageError(`--module: ${err.message}`)
    throw err
  }
  const built = transportFromOptions(v)
  let node
  try {
    checkOwnCertificate(v, built)
    node = await startNode({ ...nodeOptionsFromCli(v, ports, built, modules), logger: loggerFromCli(v.verbose, opts.say) })
  } catch (err) {
    await built.close()
    throw err
  }
  reportRefusals(node, opts.say)
  return { node, built, modules }
}
