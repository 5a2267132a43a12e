// SPDX-License-Identifier: BSD-2-Clause
/*
 * Files on the volume umbra.efi was loaded from: the volume root, umbra.efi's
 * own directory, and whole-file reads into page allocations.
 */
#include "loader.h"

/*
 * Append at most n characters of src to dst (capacity cap characters);
 * false, and dst unchanged, when they do not fit.
 */
static bool wstr_append(CHAR16 *dst, UINTN cap, const CHAR16 *src, UINTN n)
{
	UINTN len = StrLen(dst), i;

	for (i = 0; i < n && src[i]; i++)
		;
	if (len + i >= cap)
		return false;
	for (i = 0; i < n && src[i]; i++)
		dst[len + i] = src[i];
	dst[len + i] = 0;
	return true;
}

/*
 * The image's path on its volume: the File Path Media Device Path nodes
 * (10.3.5.4) of EFI_LOADED_IMAGE_PROTOCOL.FilePath (9.1), which is relative
 * to DeviceHandle.  A path may be split over several nodes.
 */
static bool image_path(EFI_DEVICE_PATH *dp, CHAR16 *out, UINTN cap)
{
	out[0] = 0;
	for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp)) {
		UINTN len = DevicePathNodeLength(dp);
		const CHAR16 *name;

		if (len < SIZE_OF_FILEPATH_DEVICE_PATH)
			return false;	/* malformed: stop here */
		if (DevicePathType(dp) != MEDIA_DEVICE_PATH ||
		    DevicePathSubType(dp) != MEDIA_FILEPATH_DP)
			continue;
		name = ((FILEPATH_DEVICE_PATH *)dp)->PathName;
		len = (len - SIZE_OF_FILEPATH_DEVICE_PATH) / sizeof(CHAR16);
		if (out[0] && out[StrLen(out) - 1] != '\\' && name[0] != '\\' &&
		    !wstr_append(out, cap, L"\\", 1))
			return false;
		if (!wstr_append(out, cap, name, len))
			return false;
	}
	return out[0] != 0;
}

EFI_STATUS volume_open(EFI_HANDLE image, EFI_LOADED_IMAGE *li,
		       struct volume *vol)
{
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	CHAR16 path[PATH_MAX_CHARS];
	EFI_STATUS st;
	UINTN i, slash;

	/* 13.4: the Simple File System Protocol on the image's device. */
	st = uefi_call_wrapper(BS->HandleProtocol, 3, li->DeviceHandle,
			       &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st)) {
		err(L"no file system on the device umbra.efi came from: %r\n",
		    st);
		return st;
	}
	st = uefi_call_wrapper(fs->OpenVolume, 2, fs, &vol->root);
	if (EFI_ERROR(st)) {
		err(L"cannot open the volume umbra.efi came from: %r\n", st);
		return st;
	}

	vol->dir[0] = 0;
	vol->name[0] = 0;
	if (!image_path(li->FilePath, path, ARRAY_SIZE(path))) {
		warn(L"cannot tell umbra.efi's directory, using the volume root\n");
		return EFI_SUCCESS;
	}
	slash = 0;
	for (i = 0; path[i]; i++)
		if (path[i] == '\\')
			slash = i + 1;
	wstr_append(vol->name, ARRAY_SIZE(vol->name), path + slash,
		    PATH_MAX_CHARS);
	/* "\umbra.efi" lives in the root: its directory is "". */
	if (slash > 1)
		wstr_append(vol->dir, ARRAY_SIZE(vol->dir), path, slash - 1);
	return EFI_SUCCESS;
}

/*
 * A path from umbra.cfg: absolute ("\EFI\...") on the volume, or relative to
 * umbra.efi's directory.  out holds VOL_PATH_CHARS characters.
 */
void volume_path(const struct volume *vol, const char *path, CHAR16 *out)
{
	CHAR16 c[2] = { 0, 0 };

	out[0] = 0;
	if (path[0] != '\\') {
		wstr_append(out, VOL_PATH_CHARS, vol->dir, PATH_MAX_CHARS);
		wstr_append(out, VOL_PATH_CHARS, L"\\", 1);
	}
	for (; *path; path++) {
		c[0] = (CHAR16)(UINT8)*path;
		wstr_append(out, VOL_PATH_CHARS, c, 1);
	}
}

/*
 * Read a whole file into pages of EfiLoaderData.  One byte more than the file
 * is always allocated (and zeroed), so that text can be NUL-terminated.
 * Reports its own errors, naming the file.
 */
EFI_STATUS volume_read(struct volume *vol, const CHAR16 *path,
		       EFI_PHYSICAL_ADDRESS *base, UINT64 *size,
		       UINTN *pages)
{
	EFI_FILE_HANDLE fh;
	EFI_FILE_INFO *info;
	EFI_STATUS st;
	UINT64 fsize, done = 0;
	UINT8 *buf;

	/* 13.5.2 EFI_FILE_PROTOCOL.Open() */
	st = uefi_call_wrapper(vol->root->Open, 5, vol->root, &fh,
			       (CHAR16 *)path, EFI_FILE_MODE_READ, 0ull);
	if (EFI_ERROR(st)) {
		err(L"cannot open %s: %r\n", path, st);
		return st;
	}
	info = LibFileInfo(fh);
	if (!info) {
		err(L"cannot get the size of %s\n", path);
		st = EFI_DEVICE_ERROR;
		goto out;
	}
	fsize = info->FileSize;
	if (info->Attribute & EFI_FILE_DIRECTORY) {
		FreePool(info);
		err(L"%s is a directory, not a file\n", path);
		st = EFI_INVALID_PARAMETER;
		goto out;
	}
	FreePool(info);

	*pages = DIV_UP(fsize + 1, EFI_PAGE);
	st = alloc_pages(*pages, base);
	if (EFI_ERROR(st)) {
		err(L"no memory for %s (%ld bytes): %r\n", path, fsize, st);
		goto out;
	}
	buf = (UINT8 *)(UINTN)*base;
	bs_zero(buf, *pages * EFI_PAGE);

	/* 13.5.7 EFI_FILE_PROTOCOL.Read(): may return less than asked. */
	while (done < fsize) {
		UINTN n = fsize - done;

		if (n > (16u << 20))
			n = 16u << 20;
		st = uefi_call_wrapper(fh->Read, 3, fh, &n, buf + done);
		if (EFI_ERROR(st)) {
			err(L"cannot read %s: %r\n", path, st);
			goto out;
		}
		if (n == 0) {
			err(L"cannot read %s: file ends after %ld of %ld bytes\n",
			    path, done, fsize);
			st = EFI_END_OF_FILE;
			goto out;
		}
		done += n;
	}
	*size = fsize;
out:
	uefi_call_wrapper(fh->Close, 1, fh);
	return st;
}
