import { z } from "zod";

/** RFC 1123 label: what Kubernetes requires of most names and what we require of disk/NIC names. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 subdomain: what Kubernetes requires of object names such as PVCs and Secrets. */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A name local to the VM (disk, volume, interface, network): a DNS-1123 label of at most 63 characters. */
export const localName = () =>
  z
    .string()
    .max(63, "must be at most 63 characters")
    .regex(
      DNS1123_LABEL,
      "must be a DNS-1123 label (lowercase letters, digits and '-', alphanumeric at both ends)",
    );

/** A reference to a Kubernetes object in the VM's namespace. */
export const objectName = () =>
  z
    .string()
    .min(1, "must not be empty")
    .max(253, "must be at most 253 characters")
    .regex(DNS1123_SUBDOMAIN, "must be a DNS-1123 subdomain");
