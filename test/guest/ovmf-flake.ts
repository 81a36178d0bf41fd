/**
 * OVMF's serial driver times its writes against the guest's clock, which under TCG runs on host time: when
 * the machine is so loaded (load ≈ 10–16 on 2 cores, seen in CI beside six other jobs) that QEMU's vCPU
 * thread is not scheduled for a second, a console write "times out" and the firmware's built-in shell
 * fails to start with EFI_DEVICE_ERROR — and that very line may be lost the same way, leaving only BdsDxe's
 * "No bootable option" after it (both seen in one CI run). It is the firmware on a starved emulated CPU, not
 * the launcher: on these lines a test may boot the same VM once more (and says so); anything else is judged
 * as is. Under far heavier load (16 busy loops beside the test) shell output itself is lost; no retry helps.
 */
export const OVMF_SHELL_DEVICE_ERROR =
  /failed to start Boot[0-9A-F]{4} "EFI Internal Shell"[^\n]*: Device Error|No bootable option or device was found/;

/** How many boots a test gives OVMF's shell before the lines above count as a failure. */
export const OVMF_SHELL_BOOTS = 2;
