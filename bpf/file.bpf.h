/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a struct file is, for an event: its identity (device, inode, and the layer's for a file
 * of an overlay), owner, mode, size, ctime, and its absolute path as the current task sees it,
 * walked through dentries and mounts. Included once, by sowatch.bpf.c, which declares
 * fmode_backing before it.
 */
#ifndef SOWATCH_FILE_BPF_H
#define SOWATCH_FILE_BPF_H

/*
 * Scratch space for one path walk: bpf_loop callbacks cannot write into a ring buffer record.
 * The write offset lives here too, not on the stack: the verifier then treats it as any
 * bounded value instead of tracking each iteration's exact offset, which would never converge.
 */
struct path_scratch {
	__u32 off;
	__u16 flags;
	__u16 pad;
	__u8 buf[SW_PATH_MAX + SW_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct mnt_namespace *ns; /* the current task's: a root elsewhere is not "/" */
};

/* Append one component; false when the path is full or unreadable. */
static __always_inline bool path_append(struct path_scratch *scratch, struct dentry *dentry)
{
	const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
	__u32 off = scratch->off & (SW_PATH_MAX - 1);
	long n = bpf_probe_read_kernel_str(scratch->buf + off, SW_NAME_MAX, name);

	if (n <= 0) {
		scratch->flags = SW_PATH_UNREACHABLE;
		return false;
	}
	scratch->off = off + n;
	return scratch->off < SW_PATH_MAX - SW_NAME_MAX; /* else flags still say truncated */
}

/* One step up the tree: a component, or a hop from a mount's root to where it is mounted. */
static long path_walk_step(__u32 i, struct path_walk *w)
{
	/* Plain copies first: BPF_CORE_READ() must only see kernel types. */
	struct dentry *dentry = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	__u32 zero = 0;
	struct path_scratch *scratch = bpf_map_lookup_elem(&path_scratch, &zero);
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (!scratch)
		return 1;
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent;

		if (dentry != mnt_root) {
			/* A pseudo file (memfd, anonymous inode): its own name is all there is. */
			path_append(scratch, dentry);
			scratch->flags = SW_PATH_UNREACHABLE;
			return 1;
		}
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			/* The namespace's root, or a detached tree (umount -l, open_tree()). */
			scratch->flags =
			    BPF_CORE_READ(mnt, mnt_ns) == w->ns ? 0 : SW_PATH_UNREACHABLE;
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = (void *)mnt_parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (!path_append(scratch, dentry))
		return 1;
	w->dentry = parent;
	return 0;
}

/*
 * Write the components of the path (dentry, vfsmnt), leaf first, into area (SW_PATH_MAX +
 * SW_NAME_MAX bytes). Crosses mount points up to the root of the mount namespace, so a
 * container's process gets the path as the container sees it. Returns the bytes written.
 */
static __always_inline __u16 path_write(__u8 *area, struct dentry *dentry, struct vfsmount *vfsmnt,
					__u16 *ret_flags)
{
	struct path_walk w = {
		.dentry = dentry,
		.vfsmnt = vfsmnt,
		.mnt = container_of(vfsmnt, struct mount, mnt),
	};
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 zero = 0, len;
	struct path_scratch *scratch = bpf_map_lookup_elem(&path_scratch, &zero);

	if (!scratch)
		return 0;
	w.ns = BPF_CORE_READ(task, nsproxy, mnt_ns);
	scratch->off = 0;
	scratch->flags = SW_PATH_TRUNCATED;
	bpf_loop(SW_PATH_DEPTH, path_walk_step, &w, 0);
	len = scratch->off & (SW_PATH_MAX - 1);
	if (bpf_probe_read_kernel(area, len, scratch->buf))
		len = 0;
	*ret_flags = scratch->flags;
	return len;
}

/*
 * Fill *out with the identity of `file` and write its path into area (see path_write).
 * Returns the path's length, with bounds the verifier can see.
 */
static __always_inline bool file_is_backing(struct file *file)
{
	return fmode_backing && bpf_core_type_exists(struct backing_file) &&
	       (BPF_CORE_READ(file, f_mode) & fmode_backing);
}

/*
 * The path the process sees for `file`. Mapping a file of an overlay maps the layer's file
 * (a "backing file") whose own path is internal to the overlay: the overlay path is kept
 * beside it.
 */
static __always_inline struct path file_user_path(struct file *file)
{
	struct path p = BPF_CORE_READ(file, f_path);

	if (file_is_backing(file)) {
		struct backing_file *bf = container_of(file, struct backing_file, file);

		p = BPF_CORE_READ(bf, user_path);
	}
	return p;
}

/* struct inode before 6.11, which renamed i_ctime twice (CO-RE flavours of the old layouts). */
struct inode___before_6_11 {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

struct inode___before_6_6 {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

/*
 * Since 6.13 (multigrain timestamps) the top bit of i_ctime_nsec is a flag, I_CTIME_QUERIED:
 * set once someone has read the ctime. Nanoseconds never reach it (10^9 < 2^30).
 */
#define I_CTIME_NSEC_MASK 0x7fffffffU

/* The inode's last change, CLOCK_REALTIME ns, whichever way this kernel stores it. */
static __always_inline __s64 inode_ctime_ns(struct inode *inode)
{
	struct inode___before_6_11 *v66 = (void *)inode;
	struct inode___before_6_6 *old = (void *)inode;

	if (bpf_core_field_exists(inode->i_ctime_sec))
		return BPF_CORE_READ(inode, i_ctime_sec) * 1000000000 +
		       (BPF_CORE_READ(inode, i_ctime_nsec) & I_CTIME_NSEC_MASK);
	if (bpf_core_field_exists(v66->__i_ctime))
		return BPF_CORE_READ(v66, __i_ctime.tv_sec) * 1000000000 +
		       BPF_CORE_READ(v66, __i_ctime.tv_nsec);
	if (bpf_core_field_exists(old->i_ctime))
		return BPF_CORE_READ(old, i_ctime.tv_sec) * 1000000000 +
		       BPF_CORE_READ(old, i_ctime.tv_nsec);
	return 0;
}

static __always_inline __u16 file_describe(struct sw_file *out, __u8 *area, struct file *file)
{
	struct inode *real = BPF_CORE_READ(file, f_inode);
	struct path user = file_user_path(file);
	struct inode *inode = BPF_CORE_READ(user.dentry, d_inode);
	__u16 len;

	if (!inode)
		inode = real;
	out->ino = BPF_CORE_READ(inode, i_ino);
	out->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	out->real_ino = BPF_CORE_READ(real, i_ino);
	out->real_dev = BPF_CORE_READ(real, i_sb, s_dev);
	out->ctime_ns = inode_ctime_ns(real);
	out->size = BPF_CORE_READ(real, i_size);
	out->fs_magic = BPF_CORE_READ(inode, i_sb, s_magic);
	out->nlink = BPF_CORE_READ(real, __i_nlink);
	out->mode = BPF_CORE_READ(inode, i_mode);
	out->uid = BPF_CORE_READ(inode, i_uid.val);
	len = path_write(area, user.dentry, user.mnt, &out->path_flags);
	out->path_len = len;
	out->pad = 0;
	return len;
}

#endif
