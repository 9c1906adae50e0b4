/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Enforce mode in the kernel: the lists user space gives it (trusted directories, verified
 * modules), its judgement of a mapped file, and whether it acts on a process and a mapping.
 * Included once, by sowatch.bpf.c, after file.bpf.h and in_container(), and after the
 * enforce* settings it declares.
 */
#ifndef SOWATCH_ENFORCE_BPF_H
#define SOWATCH_ENFORCE_BPF_H

/* (dev, inode) of the directories whose files libcrypto may load in enforce mode */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct file_key);
	__type(value, __u8);
} trusted_dirs SEC(".maps");

/*
 * (dev, inode) -> ctime (ns) of the files of OpenSSL's module directories that user space
 * verified as the installed modules (its trust policy, package records included): the only
 * modules enforce mode lets load, as they were when verified (a write in place changes the
 * ctime). Kept up to date by user space as packages change.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct file_key);
	__type(value, __s64);
} trusted_modules SEC(".maps");

/*
 * Set by user space once enforce mode's lists are in the maps: until then nothing is killed
 * (an empty list would kill every legitimate module while sowatch starts).
 */
__u32 enforce_ready = 0;

/*
 * Enforce mode's verdict, in the kernel (enum sw_kill_reason; SW_KILL_NONE: trusted): the
 * file is owned by root, not writable by group or others, still has a name, and the directory
 * it really lies in (its dentry's parent: a bind mount does not move it) is one user space
 * listed as trusted. The module itself (`module`) must lie in one of OpenSSL's module
 * directories, as user space's policy says, and be one of the files user space verified
 * there; its libraries, in any trusted directory.
 * `dir` gets the directory's identity, for the record.
 */
static __always_inline __u32 kernel_verdict(struct file *file, bool module, struct file_key *dir)
{
	struct path user = file_user_path(file);
	struct inode *inode = BPF_CORE_READ(user.dentry, d_inode);
	struct inode *parent = BPF_CORE_READ(user.dentry, d_parent, d_inode);
	struct file_key self = {};
	__s64 *verified;
	__u8 *trusted;

	if (parent) {
		dir->ino = BPF_CORE_READ(parent, i_ino);
		dir->dev = BPF_CORE_READ(parent, i_sb, s_dev);
	}
	if (!inode || !parent)
		return SW_KILL_DIR_NOT_TRUSTED;
	if (BPF_CORE_READ(inode, i_uid.val) != 0)
		return SW_KILL_NOT_ROOT_OWNED;
	if (BPF_CORE_READ(inode, i_mode) & 022)
		return SW_KILL_WRITABLE;
	if (BPF_CORE_READ(inode, __i_nlink) == 0)
		return SW_KILL_UNLINKED;
	trusted = bpf_map_lookup_elem(&trusted_dirs, dir);
	if (!trusted)
		return SW_KILL_DIR_NOT_TRUSTED;
	if (!module)
		return SW_KILL_NONE;
	if (*trusted != SW_TRUSTED_DIR_MODULE)
		return SW_KILL_NOT_MODULE_DIR;
	self.ino = BPF_CORE_READ(inode, i_ino);
	self.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	verified = bpf_map_lookup_elem(&trusted_modules, &self);
	if (!verified || *verified != inode_ctime_ns(inode))
		return SW_KILL_MODULE_NOT_VERIFIED;
	return SW_KILL_NONE;
}

/* The initial user namespace's inode number (PROC_USER_INIT_INO) */
#define USER_NS_INIT_INO 0xEFFFFFFDU

/*
 * For enforce mode, a container is another mount namespace owned by the initial user
 * namespace, as container runtimes make them: `unshare -Urm`, open to any user, must not
 * make a host process a "container" that `where: host` spares.
 */
static __always_inline bool enforce_applies(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	bool container;

	if (enforce_where == SW_ENFORCE_ALL)
		return true;
	container = in_container(task) &&
		    BPF_CORE_READ(task, nsproxy, mnt_ns, user_ns, ns.inum) == USER_NS_INIT_INO;
	return container == (enforce_where == SW_ENFORCE_CONTAINERS);
}

/*
 * Enforce mode: why this mapping is killed for (enum sw_kill_reason). What user space's
 * effect layer reports as OpenSSL's doing is judged by kernel_verdict(): what a known OpenSSL
 * binary maps, what any program maps inside DSO_load(), and what an engine or provider maps
 * in one of their calls. With severity low, a container's added library too. *flags gets
 * SW_MAP_ENFORCE_SCOPE when enforce mode covers the process, and SW_MAP_ENFORCE_JUDGED when
 * kernel_verdict() judged the mapping: user space says why what it reports was not stopped.
 */
static __always_inline __u32 enforce_verdict(struct file *file, __u32 *flags, __u32 want,
					     __u32 added, struct file_key *dir)
{
	__u32 reason = SW_KILL_NONE;

	if (!enforce || !enforce_ready || !enforce_applies())
		return SW_KILL_NONE;
	*flags |= SW_MAP_ENFORCE_SCOPE;
	/*
	 * A known OpenSSL binary's own libraries are judged on the host only: in a container
	 * they are its image's, outside the host's trusted directories.
	 */
	if ((*flags & (SW_MAP_IN_DSO_LOAD | SW_MAP_IN_OPENSSL_CALL)) ||
	    ((want & SW_INTEREST_OPENSSL_EXE) &&
	     !in_container((struct task_struct *)bpf_get_current_task()))) {
		*flags |= SW_MAP_ENFORCE_JUDGED;
		reason = kernel_verdict(file, *flags & SW_MAP_DSO_MODULE, dir);
	}
	if (reason == SW_KILL_NONE && enforce_added && (added & SW_ADDED_ENFORCEABLE))
		reason = SW_KILL_ADDED_LIBRARY;
	return reason;
}

#endif
