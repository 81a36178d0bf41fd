import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AgentLineReader } from "./lines.ts";
import { AgentSession } from "./session.ts";

/** A session on a fake channel: `sent` holds what it wrote, `reply` feeds bytes back as the guest. */
function rig(o: { writable?: () => boolean } = {}) {
  let id = 100;
  const session = new AgentSession({
    syncTimeoutMs: 1000,
    commandTimeoutMs: 1000,
    maxQueued: 2,
    nextSyncId: () => ++id,
  });
  const reader = new AgentLineReader(64);
  const sent: string[] = [];
  session.open((data) => {
    if (o.writable && !o.writable()) return false;
    sent.push(data.toString("latin1"));
    return true;
  });
  const reply = (bytes: string | Buffer) =>
    session.onFrames(reader.push(typeof bytes === "string" ? Buffer.from(bytes) : bytes));
  const syncAnswer = (n: number) => Buffer.concat([Buffer.from([0xff]), Buffer.from(`{"return": ${n}}\n`)]);
  return { session, sent, reply, syncAnswer };
}

describe("AgentSession", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("hand-shakes with 0xFF + guest-sync-delimited, then runs commands one at a time in order", async () => {
    const { session, sent, reply, syncAnswer } = rig();
    const a = session.execute("guest-get-host-name");
    const b = session.execute("guest-get-timezone");
    expect(sent).toEqual(['\xff{"execute":"guest-sync-delimited","arguments":{"id":101}}\n']);
    expect(session.health.reason).toBe("NotSynced");
    reply('{"return": 99}\n'); // a stale answer from before: ignored
    reply(syncAnswer(101));
    expect(session.health).toMatchObject({ connected: true, reason: "Connected" });
    expect(sent[1]).toBe('{"execute":"guest-get-host-name"}\n');
    expect(sent).toHaveLength(2);
    reply('{"return": {"host-name": "g"}}\n');
    await expect(a).resolves.toEqual({ "host-name": "g" });
    expect(sent[2]).toBe('{"execute":"guest-get-timezone"}\n');
    reply('{"error": {"class": "GenericError", "desc": "nope"}}\n');
    await expect(b).rejects.toMatchObject({ code: "AGENT_COMMAND_FAILED", message: /GenericError: nope/ });
    expect(session.counters.unsolicitedLines).toBe(1);
  });

  it("a guest that never answers: the handshake times out, AgentNotResponding, the request fails", async () => {
    const { session } = rig();
    const p = session.execute("guest-ping");
    vi.advanceTimersByTime(1001);
    await expect(p).rejects.toMatchObject({ code: "AGENT_NOT_CONNECTED" });
    expect(session.health).toMatchObject({ connected: false, reason: "AgentNotResponding" });
    expect(session.counters.timeouts).toBe(1);
  });

  it("garbage instead of the handshake's answer: ProtocolError when the handshake times out", async () => {
    const { session, reply } = rig();
    const p = session.execute("guest-ping");
    reply("\x01\x02 not json\n");
    vi.advanceTimersByTime(1001);
    await expect(p).rejects.toMatchObject({ code: "AGENT_NOT_CONNECTED" });
    expect(session.health).toMatchObject({ connected: false, reason: "ProtocolError" });
  });

  it("a command without an answer times out and the next one hand-shakes again", async () => {
    const { session, sent, reply, syncAnswer } = rig();
    const p = session.execute("guest-info");
    reply(syncAnswer(101));
    vi.advanceTimersByTime(1001);
    await expect(p).rejects.toMatchObject({ code: "AGENT_TIMEOUT" });
    expect(session.health.reason).toBe("AgentNotResponding");
    const q = session.execute("guest-ping");
    expect(sent.at(-1)).toContain('"id":102');
    reply('{"return": {"late": "answer to guest-info"}}\n'); // dropped: not the sync answer
    reply(syncAnswer(102));
    reply('{"return": {}}\n');
    await expect(q).resolves.toEqual({});
    expect(session.health.connected).toBe(true);
  });

  it("garbage as an answer fails the command with AGENT_PROTOCOL and resyncs", async () => {
    const { session, reply, syncAnswer, sent } = rig();
    const p = session.execute("guest-info");
    reply(syncAnswer(101));
    reply("not json at all\n");
    await expect(p).rejects.toMatchObject({ code: "AGENT_PROTOCOL" });
    expect(session.health.reason).toBe("ProtocolError");
    expect(session.counters.garbageLines).toBe(1);
    void session.execute("guest-ping").catch(() => {});
    expect(sent.at(-1)?.startsWith("\xff")).toBe(true);
  });

  it("an oversized answer fails with AGENT_LINE_TOO_LONG and is counted", async () => {
    const { session, reply, syncAnswer } = rig();
    const p = session.execute("guest-get-fsinfo");
    reply(syncAnswer(101));
    reply(`{"return": "${"x".repeat(500)}"}\n`);
    await expect(p).rejects.toMatchObject({ code: "AGENT_LINE_TOO_LONG" });
    expect(session.health.reason).toBe("LineTooLong");
    expect(session.counters.oversizedLines).toBe(1);
  });

  it("bounds the queue", async () => {
    const { session } = rig();
    void session.execute("a").catch(() => {});
    void session.execute("b").catch(() => {});
    await expect(session.execute("c")).rejects.toMatchObject({ code: "AGENT_BUSY" });
  });

  it("a channel the guest does not read: nothing more is written, ChannelBlocked", async () => {
    let open = false;
    const { session, sent } = rig({ writable: () => open });
    await expect(session.execute("guest-ping")).rejects.toMatchObject({ code: "AGENT_CHANNEL_BLOCKED" });
    expect(session.health.reason).toBe("ChannelBlocked");
    expect(sent).toEqual([]);
    open = true;
    void session.execute("guest-ping").catch(() => {});
    expect(sent).toHaveLength(1);
  });

  it("noReply commands resolve once written and leave the stream to be resynced", async () => {
    const { session, reply, syncAnswer, sent } = rig();
    const p = session.execute("guest-shutdown", { mode: "powerdown" }, { noReply: true });
    reply(syncAnswer(101));
    await expect(p).resolves.toBeUndefined();
    expect(sent[1]).toBe('{"execute":"guest-shutdown","arguments":{"mode":"powerdown"}}\n');
    void session.execute("guest-ping").catch(() => {});
    expect(sent[2]?.startsWith("\xff")).toBe(true);
  });

  it("closing fails what is pending and refuses new commands", async () => {
    const { session } = rig();
    const p = session.execute("guest-ping");
    session.close();
    await expect(p).rejects.toMatchObject({ code: "AGENT_NOT_CONNECTED" });
    await expect(session.execute("guest-ping")).rejects.toMatchObject({ code: "AGENT_NOT_CONNECTED" });
    expect(session.health.reason).toBe("ChannelClosed");
  });
});
