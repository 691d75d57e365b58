// The Erlang/OTP side of bench/main.ts: a real epmd on a private port (ERL_EPMD_PORT), and per
// variant two `erl -sname` nodes running a small module compiled at run time (nkbench.erl, in
// a temporary directory). Variants: 'default' (default VM flags), 'tuned' (+zdbbl 32768: a
// 32 MB distribution buffer busy limit), 'tls' (-proto_dist inet_tls with certificates
// made by openssl) and 'nobw' (+sbwt none +sbwtdcpu none +sbwtdio none: schedulers that
// sleep at once instead of busy-waiting first, as a Node event loop does; for ping-pong and
// calls). The sender node answers commands on stdin, like bench/peer.ts:
//
//   tput N SIZE PROCS   → RESULT {json}   N binaries of SIZE bytes from PROCS processes
//   ping K SIZE         → LAT {json}      K round trips of a SIZE-byte binary to an echo process
//   call K SIZE         → LAT {json}      K gen_server:call({server, Node}, Bin) of a SIZE-byte
//                                         binary (the receiver's server, a gen_server, answers it)
//   hol M SIZE PSIZE    → LAT {json}      pings while M binaries of SIZE bytes stream
import { writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { type Child, has, run, startChild, waitForPort, freePort } from './util.js'

export type OtpVariant = 'default' | 'tuned' | 'tls' | 'nobw'

const ERLANG_MODULE = String.raw`
-module(nkbench).
-behaviour(gen_server).
-export([recv/0, send/1]).
-export([init/1, handle_call/3, handle_cast/2]).

recv() ->
    Echo = spawn(fun echo/0),
    register(echo, Echo),
    {ok, _} = gen_server:start({local, server}, ?MODULE, [], []),
    register(sink, spawn(fun() -> sink(Echo) end)),
    %% Stop when stdin closes, so that this node never outlives the bench.
    spawn(fun() -> eof = skip_lines(), halt() end),
    io:format("READY~n").

skip_lines() ->
    case io:get_line("") of
        eof -> eof;
        _ -> skip_lines()
    end.

echo() ->
    receive {From, B} -> From ! B end,
    echo().

%% The server the call scenario calls: answers each request with itself.
init([]) -> {ok, nostate}.
handle_call(Req, _From, S) -> {reply, Req, S}.
handle_cast(_, S) -> {noreply, S}.

sink(Echo) ->
    receive
        {hello, From} -> From ! {sink, self(), Echo};
        {start, From, N, Size} -> first(From, N, Size)
    end,
    sink(Echo).

first(From, N, Size) ->
    receive _ -> count(From, N - 1, erlang:monotonic_time(nanosecond), N, Size) end.

count(From, 0, T0, N, _) -> From ! {done, N, erlang:monotonic_time(nanosecond) - T0};
count(From, 1, T0, N, Size) -> receive B -> Size = byte_size(B), count(From, 0, T0, N, Size) end;
count(From, K, T0, N, Size) -> receive _ -> count(From, K - 1, T0, N, Size) end.

send([NodeS]) ->
    spawn(fun() -> sender(list_to_atom(NodeS)) end).

sender(Node) ->
    true = net_kernel:connect_node(Node),
    {sink, Node} ! {hello, self()},
    {Sink, Echo} = receive {sink, P, E} -> {P, E} end,
    io:format("READY~n"),
    loop(Node, Sink, Echo).

ints(L) -> [list_to_integer(X) || X <- L].

loop(Node, Sink, Echo) ->
    case io:get_line("") of
        eof -> halt();
        Line ->
            case string:lexemes(string:trim(Line), " ") of
                ["tput" | Args] ->
                    [N, Size, Procs] = ints(Args),
                    Bin = binary:copy(<<"x">>, Size),
                    Sink ! {start, self(), N, Size},
                    T0 = erlang:monotonic_time(nanosecond),
                    Self = self(),
                    Each = N div Procs,
                    [spawn(fun() -> blast(Sink, Bin, Each), Self ! blasted end) || _ <- lists:seq(1, Procs)],
                    [receive blasted -> ok end || _ <- lists:seq(1, Procs)],
                    T1 = erlang:monotonic_time(nanosecond),
                    receive
                        {done, C, Ns} ->
                            T2 = erlang:monotonic_time(nanosecond),
                            io:format("RESULT {\"count\":~b,\"recvNs\":~b,\"sendNs\":~b,\"totalNs\":~b,\"ok\":true}~n",
                                      [C, Ns, T1 - T0, T2 - T0])
                    end;
                ["ping" | Args] ->
                    [K, Size] = ints(Args),
                    lat(ping(Echo, binary:copy(<<"x">>, Size), K, []), #{});
                ["call" | Args] ->
                    [K, Size] = ints(Args),
                    lat(call({server, Node}, binary:copy(<<"x">>, Size), K, []), #{});
                ["hol" | Args] ->
                    [M, Size, PSize] = ints(Args),
                    Big = binary:copy(<<"x">>, Size),
                    Self = self(),
                    T0 = erlang:monotonic_time(nanosecond),
                    Streamer = spawn(fun() ->
                        Sink ! {start, self(), M, Size},
                        blast(Sink, Big, M),
                        receive {done, _, _} -> Self ! {streamed, erlang:monotonic_time(nanosecond) - T0} end
                    end),
                    Rtts = ping_until(Echo, binary:copy(<<"x">>, PSize), Streamer, []),
                    receive {streamed, Ns} -> lat(Rtts, #{stream_bps => (M * Size * 1000000000) div Ns}) end;
                _ -> halt()
            end,
            loop(Node, Sink, Echo)
    end.

blast(_, _, 0) -> ok;
blast(P, B, K) -> P ! B, blast(P, B, K - 1).

ping(_, _, 0, Acc) -> Acc;
ping(Echo, B, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {self(), B},
    receive B1 when is_binary(B1) -> ok end,
    ping(Echo, B, K - 1, [erlang:monotonic_time(nanosecond) - T0 | Acc]).

call(_, _, 0, Acc) -> Acc;
call(Server, B, K, Acc) ->
    T0 = erlang:monotonic_time(nanosecond),
    <<_/binary>> = gen_server:call(Server, B, 60000),
    call(Server, B, K - 1, [erlang:monotonic_time(nanosecond) - T0 | Acc]).

ping_until(Echo, B, Streamer, Acc) ->
    case is_process_alive(Streamer) of
        false -> Acc;
        true -> ping_until(Echo, B, Streamer, ping(Echo, B, 1, Acc))
    end.

lat(Rtts, Extra) ->
    S = list_to_tuple(lists:sort(Rtts)),
    N = tuple_size(S),
    Q = fun(P) -> element(max(1, min(N, ceil(P * N))), S) / 1000 end,
    Mean = lists:sum(Rtts) / N / 1000,
    io:format("LAT {\"n\":~b,\"p50\":~f,\"p99\":~f,\"p999\":~f,\"mean\":~f~s}~n",
              [N, Q(0.5), Q(0.99), Q(0.999), Mean,
               case Extra of #{stream_bps := Bps} -> io_lib:format(",\"streamBps\":~b", [Bps]); _ -> "" end]).
`

export function hasErlang(): boolean {
  return ['erl', 'erlc', 'epmd'].every(has)
}

export interface OtpSetup {
  env: NodeJS.ProcessEnv
  dir: string
  release: string
  /** The private epmd's port (netkernel nodes that talk to these Erlang nodes register there). */
  epmdPort: number
}

/** Compiles the module into `dir` and starts a private epmd (stopped when its stdin closes). */
export async function setupOtp(dir: string): Promise<OtpSetup> {
  writeFileSync(join(dir, 'nkbench.erl'), ERLANG_MODULE)
  const port = await freePort()
  const env = { ...process.env, ERL_EPMD_PORT: String(port) }
  // Through a shell that stops it when stdin closes (epmd itself ignores stdin), so that it
  // never outlives the bench; its stderr is ignored (it complains about waitForPort's probes).
  startChild('epmd', 'sh', ['-c', `epmd -port ${port} -address 127.0.0.1 & e=$!; cat >/dev/null; kill $e; wait $e`], env, 'ignore')
  const [c, v] = await Promise.all([
    run('erlc', ['-o', dir, join(dir, 'nkbench.erl')]),
    run('erl', ['-noshell', '-start_epmd', 'false', '-eval', 'io:format("~s", [erlang:system_info(otp_release)]), halt().'], env),
    waitForPort(port, 10_000),
  ])
  if (c.status !== 0) throw new Error(`erlc failed: ${c.output}`)
  return { env, dir, release: v.output.trim(), epmdPort: port }
}

/** inet_tls's files: the ssl_dist_optfile, and the PEM files it names. */
export interface OtpTls {
  conf: string
  ca: string
  cert: string
  key: string
}

/** An erl node's flags for distribution over TLS with `tls`'s optfile. */
export const inetTlsFlags = (tls: OtpTls): string[] => ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', tls.conf]

/**
 * Certificates for inet_tls (one CA, one node certificate for every node: the OTP pair's, and
 * the netkernel nodes that talk to them over TLS, as a netkernel tls() node needs no
 * certificate naming it unless its auth asks) and the optfile.
 */
export async function otpTlsConfig(dir: string, env: NodeJS.ProcessEnv): Promise<OtpTls> {
  const which = await run(
    'erl',
    ['-noshell', '-start_epmd', 'false', '-eval', 'io:format("~p", [code:which(inet_tls_dist)]), halt().'],
    env,
  )
  if (!which.output.includes('inet_tls_dist.beam')) throw new Error('the ssl application is not installed (Debian package erlang-ssl)')
  if (!has('openssl')) throw new Error('openssl is not installed')
  const host = hostname().split('.')[0]!
  const f = (n: string): string => join(dir, n)
  writeFileSync(f('otp-ext.cnf'), `subjectAltName=DNS:${host},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`)
  const steps: string[][] = [
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('otp-ca.key'),
      '-out',
      f('otp-ca.pem'),
      '-subj',
      '/CN=nkbench OTP CA',
      '-days',
      '2',
    ],
    ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('otp-node.key'), '-out', f('otp-node.csr'), '-subj', `/CN=${host}`],
    [
      'x509',
      '-req',
      '-in',
      f('otp-node.csr'),
      '-CA',
      f('otp-ca.pem'),
      '-CAkey',
      f('otp-ca.key'),
      '-CAcreateserial',
      '-out',
      f('otp-node.pem'),
      '-days',
      '2',
      '-extfile',
      f('otp-ext.cnf'),
    ],
  ]
  for (const s of steps) {
    const r = await run('openssl', s)
    if (r.status !== 0) throw new Error(`openssl ${s[0]} failed: ${r.output}`)
  }
  const opts = `{certfile, "${f('otp-node.pem')}"}, {keyfile, "${f('otp-node.key')}"}, {cacertfile, "${f('otp-ca.pem')}"}, {verify, verify_peer}, {versions, ['tlsv1.3']}`
  // Both ends verify the other's certificate against the CA (as the netkernel tls transport
  // does); the client does not check the host name (node names are short names).
  writeFileSync(
    f('otp-ssl-dist.conf'),
    `[{server, [${opts}, {fail_if_no_peer_cert, true}]},\n {client, [${opts}, {server_name_indication, disable}]}].\n`,
  )
  return { conf: f('otp-ssl-dist.conf'), ca: f('otp-ca.pem'), cert: f('otp-node.pem'), key: f('otp-node.key') }
}

export interface OtpPair {
  variant: OtpVariant
  sender: Child
  receiver: Child
  /** The receiving node's name (its sink, echo and server serve any sender, one run at a time). */
  recvNode: string
}

/** An `erl` node's own flags: its short name and cookie, no shell, the bench's epmd and modules. */
export const erlNodeArgs = (setup: OtpSetup, name: string, cookie: string): string[] => [
  '-sname',
  name,
  '-setcookie',
  cookie,
  '-noshell',
  '-start_epmd',
  'false',
  '-pa',
  setup.dir,
]

/**
 * An `erl -sname NAME` node running nkbench:send toward `target` (any node with a 'sink'), once
 * READY; `flags` go before the others (inet_tls's).
 */
export async function startOtpSender(setup: OtpSetup, name: string, target: string, cookie: string, flags: string[] = []): Promise<Child> {
  const sender = startChild(
    `erl ${name.split('_').pop()}`,
    'erl',
    [...flags, ...erlNodeArgs(setup, name, cookie), '-run', 'nkbench', 'send', target],
    setup.env,
    'inherit',
    'send',
  )
  await sender.expect('READY', 45_000)
  return sender
}

/** Two nodes of one variant, connected, the sender holding the sink's and echo's pids. */
export async function startOtpPair(setup: OtpSetup, variant: OtpVariant, tag: string, cookie: string, tls?: OtpTls): Promise<OtpPair> {
  const flags =
    variant === 'tuned'
      ? ['+zdbbl', '32768']
      : variant === 'tls'
        ? inetTlsFlags(tls!)
        : variant === 'nobw'
          ? ['+sbwt', 'none', '+sbwtdcpu', 'none', '+sbwtdio', 'none']
          : []
  const erl = (name: string, ...args: string[]): Child =>
    startChild(
      `erl ${variant} ${name.split('_').pop()}`,
      'erl',
      [...flags, ...erlNodeArgs(setup, name, cookie), '-run', 'nkbench', ...args],
      setup.env,
      'inherit',
      args[0] === 'recv' ? 'recv' : 'send',
    )
  const recvName = `${tag}_otp${variant}_recv`
  const recv = erl(recvName, 'recv')
  await recv.expect('READY', 45_000)
  const recvNode = `${recvName}@${hostname().split('.')[0]}`
  const sender = erl(`${tag}_otp${variant}_send`, 'send', recvNode)
  await sender.expect('READY', 45_000)
  return { variant, sender, receiver: recv, recvNode }
}
