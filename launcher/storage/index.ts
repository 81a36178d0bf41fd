/** Storage: the VM's volumes as guest disks (`prepareDisks`), and what callers need around it. */
export { prepareDisks } from "./prepare.ts";
export { DiskError, type DiskErrorCode } from "./errors.ts";
export type { StorageDeps, StorageFs, ImageTool, IsoTool, StorageLogger } from "./deps.ts";
export { nodeStorageDeps } from "./node-deps.ts";
export { defaultNetworkConfig, defaultNetworkConfigData, type NetworkConfigV2 } from "./network-config.ts";
export { FILESYSTEM_RESERVE_RATIO, usableImageBytes } from "../../crds/contract/disk-image.ts";
export { PVC_IMAGE_NAME } from "./kinds/pvc-filesystem.ts";
export { NOCLOUD_LABEL } from "./kinds/cloud-init.ts";
export { CONFIG_LABEL } from "./kinds/config-volume.ts";
