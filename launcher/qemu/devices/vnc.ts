import { VNC_PORT } from "../../../crds/contract/index.ts";
import type { DeviceArgs } from "../inputs.ts";

/**
 * A graphical console only when asked for: a VGA adapter, a USB tablet (absolute pointer, so the cursor
 * follows the viewer's), and VNC on the pod's loopback only, reached through `kubectl port-forward`.
 */
export const vncArgs: DeviceArgs = ({ config }) =>
  config.devices.vnc
    ? [
        "-vnc",
        `127.0.0.1:${VNC_PORT - 5900}`,
        "-device",
        "VGA,id=video0",
        "-device",
        "qemu-xhci,id=usb",
        "-device",
        "usb-tablet,id=tablet0,bus=usb.0",
      ]
    : ["-display", "none"];
