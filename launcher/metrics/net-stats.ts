import { join } from "node:path";
import { MetricsParseError } from "./errors.ts";
import type { HostFiles, MetricsNic } from "./source.ts";

/** Traffic counters of one guest NIC, from the guest's point of view. */
export interface NicStats {
  interface: string;
  receiveBytes: number;
  receivePackets: number;
  receiveErrors: number;
  receiveDropped: number;
  transmitBytes: number;
  transmitPackets: number;
  transmitErrors: number;
  transmitDropped: number;
}

/** The sysfs counter files we read, named as the host device counts them. */
export const TAP_COUNTERS = [
  "rx_bytes",
  "rx_packets",
  "rx_errors",
  "rx_dropped",
  "tx_bytes",
  "tx_packets",
  "tx_errors",
  "tx_dropped",
] as const;

/** Values of {@link TAP_COUNTERS} for one tap. */
export type TapCounters = Record<(typeof TAP_COUNTERS)[number], number>;

/**
 * Turns a tap's counters into the guest's. A tap is the host end of the guest's NIC, so what the tap
 * transmits the guest receives and the other way round: guest receive = tap tx, guest transmit = tap rx.
 * Drops and errors swap the same way (a tap tx drop is a frame the guest never got).
 */
export function guestNicStats(name: string, tap: TapCounters): NicStats {
  return {
    interface: name,
    receiveBytes: tap.tx_bytes,
    receivePackets: tap.tx_packets,
    receiveErrors: tap.tx_errors,
    receiveDropped: tap.tx_dropped,
    transmitBytes: tap.rx_bytes,
    transmitPackets: tap.rx_packets,
    transmitErrors: tap.rx_errors,
    transmitDropped: tap.rx_dropped,
  };
}

/** Reads the sysfs statistics of every tap-backed NIC; passt and unbacked NICs have no host counters. */
export async function readNicStats(
  files: HostFiles,
  sysClassNet: string,
  nics: readonly MetricsNic[],
): Promise<NicStats[]> {
  const taps = nics.filter((nic): nic is MetricsNic & { tap: string } => nic.backend === "tap" && !!nic.tap);
  return Promise.all(
    taps.map(async (nic) => {
      const dir = join(sysClassNet, nic.tap, "statistics");
      const values = await Promise.all(
        TAP_COUNTERS.map(async (counter) => {
          const path = join(dir, counter);
          const text = (await files.readFile(path)).trim();
          if (!/^\d+$/.test(text))
            throw new MetricsParseError(path, `not a counter: ${JSON.stringify(text)}`);
          return [counter, Number(text)] as const;
        }),
      );
      return guestNicStats(nic.name, Object.fromEntries(values) as TapCounters);
    }),
  );
}
