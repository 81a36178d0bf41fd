/**
 * SO_PEERCRED of an accepted unix-socket connection: the pid, uid and gid the kernel recorded when the
 * peer called connect(). Node has no getsockopt, so it is called in libc through koffi (a maintained FFI
 * with prebuilt binaries); the alternative, matching socket inodes in /proc/net/unix against every
 * process's fds, is racy and slow.
 */
import type { Socket } from "node:net";
import koffi from "koffi";
import { NetsetupError } from "./errors.ts";

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** What the kernel says about the peer (in this process's pid namespace: 0 when the peer is outside it). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

type GetSockOpt = (fd: number, level: number, name: number, out: Buffer, len: number[]) => number;
let getsockopt: GetSockOpt | undefined;

function libcGetsockopt(): GetSockOpt {
  getsockopt ??= koffi
    .load("libc.so.6")
    .func("int getsockopt(int, int, int, _Out_ uint8_t *optval, _Inout_ uint32_t *optlen)") as GetSockOpt;
  return getsockopt;
}

/** The peer's credentials; throws PEER_GONE when the kernel has none (or the socket has no fd). */
export function peerCredentials(socket: Socket): PeerCredentials {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0)
    throw new NetsetupError("PEER_GONE", "the connection has no descriptor");
  const out = Buffer.alloc(12);
  const len = [12];
  if (libcGetsockopt()(fd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0 || len[0] !== 12)
    throw new NetsetupError("PEER_GONE", "SO_PEERCRED failed on the connection");
  const creds = { pid: out.readInt32LE(0), uid: out.readUInt32LE(4), gid: out.readUInt32LE(8) };
  if (creds.pid <= 0)
    throw new NetsetupError(
      "PEER_GONE",
      "the caller is outside this process's pid namespace (hostPID is needed)",
    );
  return creds;
}
