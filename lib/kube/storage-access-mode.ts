/** How many pods may mount a PersistentVolumeClaim at once. */
export enum StorageAccessMode {
  /** Pods on one node at a time; every storage class supports it. */
  READ_WRITE_ONCE = 'ReadWriteOnce',
  /**
   * One pod at a time, even on the same node, so a replica's CA keys and
   * sqlite database are never opened twice; needs a CSI storage class.
   */
  READ_WRITE_ONCE_POD = 'ReadWriteOncePod',
}
