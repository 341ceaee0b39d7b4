#!/usr/bin/env bash
# Builds Kumo's tiny test VM images from Debian packages, once, into a cache directory:
#   kernel/vmlinuz, kernel/initrd.img, kernel/cmdline   — the `kernel` image kind (direct boot)
#   disk.img                                            — the `disk` image kind (raw, extlinux; only when
#                                                          extlinux, sfdisk and mkfs.ext4 are available)
# The initramfs is busybox-static with the virtio modules (+ depmod), an /init that brings eth0 up with udhcpc
# (renewing every few seconds, so an address change shows as a DHCP NAK), answers ACPI power button presses
# (QMP system_powerdown) with a poweroff, and writes markers on the serial console ("kumo-guest: …").
# Usage: scripts/build-vm-images.sh [CACHE_DIR]   (default ${KUMO_VM_IMAGES:-$HOME/.cache/kumo/vm-images})
# Prints the cache directory. Needs: apt-get (download only, no root), dpkg-deb, busybox-static, cpio, gzip, kmod.
set -euo pipefail
out="${1:-${KUMO_VM_IMAGES:-$HOME/.cache/kumo/vm-images}}"
# bump when what this script builds changes, so caches of older builds are rebuilt
format=4
if [[ -f "$out/kernel/initrd.img" && -f "$out/kernel/vmlinuz" && "$(cat "$out/.complete" 2>/dev/null)" == "$format" ]]; then
  echo "$out"; exit 0
fi
rm -rf "$out/kernel" "$out/disk.img" "$out/.complete"
mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# The kernel the metapackage points at (linux-image-amd64 → linux-image-<ver>-amd64).
resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'; }
pkg="$(resolve)"
if [[ -z "$pkg" && "$(id -u)" = 0 ]]; then apt-get update -qq >&2; pkg="$(resolve)"; fi
[[ -n "$pkg" ]] || { echo "build-vm-images: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
apt-get download -q "$pkg" >&2
dpkg-deb -x ./*.deb root
kver="$(ls root/lib/modules | head -1)"
vmlinuz="$(ls root/boot/vmlinuz-* | head -1)"

# initramfs
ir="$work/initramfs"
mkdir -p "$ir"/{bin,sbin,etc,proc,sys,dev,tmp,run,usr/share/udhcpc,lib/modules/$kver}
cp /bin/busybox "$ir/bin/busybox"
mods=(net/core/failover.ko drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/virtio/virtio.ko
      drivers/virtio/virtio_ring.ko drivers/virtio/virtio_pci.ko drivers/virtio/virtio_pci_modern_dev.ko
      drivers/virtio/virtio_pci_legacy_dev.ko drivers/input/evdev.ko drivers/acpi/button.ko drivers/block/virtio_blk.ko)
for m in "${mods[@]}"; do
  src="root/lib/modules/$kver/kernel/$m"
  for cand in "$src" "$src.xz" "$src.zst"; do
    if [[ -f "$cand" ]]; then
      mkdir -p "$ir/lib/modules/$kver/kernel/$(dirname "$m")"
      case "$cand" in
        *.xz) xz -dc "$cand" > "$ir/lib/modules/$kver/kernel/$m" ;;
        *.zst) zstd -qdc "$cand" > "$ir/lib/modules/$kver/kernel/$m" ;;
        *) cp "$cand" "$ir/lib/modules/$kver/kernel/$m" ;;
      esac
    fi
  done
done
cp root/lib/modules/$kver/modules.order root/lib/modules/$kver/modules.builtin* "$ir/lib/modules/$kver/" 2>/dev/null || true
depmod -b "$ir" "$kver"

cat > "$ir/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo "kumo-guest: init $(uname -r)"
for m in virtio_pci virtio_net virtio_blk evdev button; do modprobe $m 2>/dev/null; done
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    kumo.hostname=*) hostname "${arg#kumo.hostname=}" ;;
    kumo.userdata=*) echo "${arg#kumo.userdata=}" | base64 -d > /run/user-data 2>/dev/null ;;
    kumo.sshkeys=*) echo "${arg#kumo.sshkeys=}" | base64 -d > /run/authorized_keys 2>/dev/null ;;
  esac
done
[ -s /run/user-data ] && echo "kumo-guest: user-data $(wc -c < /run/user-data) bytes"
[ -s /run/authorized_keys ] && echo "kumo-guest: ssh keys $(wc -l < /run/authorized_keys)"
ip link set lo up
ip link set eth0 up
# ACPI power button (QMP system_powerdown) → poweroff: any event from the "Power Button" input device
ev="$(awk '/Name="Power Button"/ {p=1} p && /Handlers=/ {for (i = 1; i <= NF; i++) if ($i ~ /^event/) {print $i; exit}}' /proc/bus/input/devices)"
if [ -n "$ev" ]; then
  ( dd if="/dev/input/$ev" of=/dev/null bs=24 count=1 2>/dev/null && echo "kumo-guest: power button" && poweroff -f ) &
fi
udhcpc -i eth0 -s /usr/share/udhcpc/default.script -b -t 60 -T 1 -x hostname:"$(hostname)"
# renew often: a changed address is refused (DHCPNAK) within seconds, then re-acquired
( while sleep 3; do for p in $(pidof udhcpc); do kill -USR1 $p; done; done ) &
echo "kumo-guest: up"
while true; do sleep 3600; done
INIT
chmod 755 "$ir/init"
cat > "$ir/usr/share/udhcpc/default.script" <<'HOOK'
#!/bin/sh
case "$1" in
  deconfig|nak) ip -4 addr flush dev "$interface" ;;
  bound|renew)
    cur="$(ip -4 -o addr show dev "$interface" | awk '{print $4}')"
    if [ "$cur" != "$ip/$mask" ]; then
      ip -4 addr flush dev "$interface"; ip addr add "$ip/$mask" dev "$interface"
      for r in $router; do ip route replace default via "$r" dev "$interface"; done
      echo "kumo-guest: lease $ip" > /dev/console
    fi ;;
esac
HOOK
chmod 755 "$ir/usr/share/udhcpc/default.script"
(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.img"

mkdir -p "$out/kernel"
cp "$vmlinuz" "$out/kernel/vmlinuz"
cp "$work/initrd.img" "$out/kernel/initrd.img"
echo "console=ttyS0 panic=-1 quiet" > "$out/kernel/cmdline"
echo "$kver" > "$out/kernel/version"

# disk image: MBR (syslinux boot code + one bootable Linux partition from sector 2048 to the end of 64 MiB)
# + ext4 with extlinux, the same kernel and initramfs. Needs root, a loop device and mount; skipped otherwise
# (tests then boot the kernel image only).
build_disk() {
  local disk="$work/disk.img" mnt="$work/mnt" loop
  truncate -s 64M "$disk"
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$disk" bs=440 count=1 conv=notrunc status=none
  # partition entry 1: active, type 0x83, LBA 2048, 129024 sectors; then the 0x55AA signature
  printf '\x80\xfe\xff\xff\x83\xfe\xff\xff\x00\x08\x00\x00\x00\xf8\x01\x00' | dd of="$disk" bs=1 seek=446 conv=notrunc status=none
  printf '\x55\xaa' | dd of="$disk" bs=1 seek=510 conv=notrunc status=none
  loop="$(losetup --show -f -o $((2048*512)) --sizelimit $((129024*512)) "$disk")" || return 1
  if mkfs.ext4 -q -O ^64bit,^metadata_csum "$loop" && mkdir -p "$mnt" && mount "$loop" "$mnt"; then
    mkdir -p "$mnt/boot"
    cp "$out/kernel/vmlinuz" "$out/kernel/initrd.img" "$mnt/boot/"
    printf 'DEFAULT kumo\nTIMEOUT 1\nLABEL kumo\n  KERNEL /boot/vmlinuz\n  APPEND initrd=/boot/initrd.img %s\n' "$(cat "$out/kernel/cmdline")" > "$mnt/boot/extlinux.conf"
    extlinux --install "$mnt/boot" >/dev/null 2>&1
    local rc=$?
    umount "$mnt"
    losetup -d "$loop"
    [ $rc = 0 ] && cp "$disk" "$out/disk.img"
    return $rc
  fi
  losetup -d "$loop"
  return 1
}
if command -v extlinux >/dev/null && command -v mkfs.ext4 >/dev/null && command -v losetup >/dev/null \
   && [[ -f /usr/lib/syslinux/mbr/mbr.bin ]] && [[ "$(id -u)" = 0 ]]; then
  build_disk || echo "build-vm-images: disk image skipped (no loop device or mount here)" >&2
fi
echo "$format" > "$out/.complete"
echo "$out"
