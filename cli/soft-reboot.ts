/**
 * `vireo soft-reboot VM`: in KubeVirt the guest agent asks the guest OS to reboot itself. Vireo has no guest
 * agent yet, and the launcher's other doors are not a soft reboot: ACPI has a power button but no "reboot"
 * button (the guest would power off, and the runStrategy decides what follows), and QMP's system_reset is a
 * hard reset. So the command exists, refuses, and names what to do instead. It never touches the cluster.
 */
const HELP = `usage: vireo soft-reboot VM

Not available yet: a soft reboot asks the guest OS to reboot itself through a guest agent (KubeVirt's
qemu-guest-agent), and Vireo has no guest agent. Vireo does not fake it: an ACPI power-button press powers
the guest off, and a reset is a hard reboot. Instead:
  vireo restart VM        a new launcher pod (the guest gets an ACPI shutdown first)
  vireo console VM        log in and run reboot in the guest`;

/** Refuses with the reason (exit 1), or prints the help. */
export async function softRebootCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  const vm = argv.find((a) => !a.startsWith("-"));
  console.error(
    `vireo soft-reboot: cannot soft-reboot ${vm === undefined ? "a VM" : `VM ${vm}`}: it needs a guest agent in the guest, and Vireo has no guest agent yet (a hard reset is not a soft reboot). Use vireo restart ${vm ?? "VM"}, or reboot from vireo console ${vm ?? "VM"}.`,
  );
  return 1;
}
