using Scoord.Interceptors;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// userfaultfd write-protection in async mode (UFFD_FEATURE_WP_ASYNC, kernels >= 6.7): after an image, every
/// present page of the process's private mappings is write-protected; the kernel lifts the protection of a
/// page at its first write without telling anyone, and PAGEMAP_SCAN reports the page as written until it is
/// protected again. The userfaultfd has to be made by the process itself (it binds the caller's mm), so it
/// is made by an injected syscall; scoord takes a copy (pidfd_getfd) and closes the process's, so the app
/// sees no new descriptor. Registration and protection then work from scoord on that copy.
/// </summary>
internal static unsafe class UffdTracker
{
    /// <summary>Makes the process's userfaultfd; false (with why) when the kernel refuses it.</summary>
    public static bool TrySetUp(InjectedThread t, int pidfd, ProcessTracking tracking, out string? why)
    {
        why = null;
        long fd = SyscallInjector.Call(t, Nr.Userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
        if (fd < 0)
        {
            why = $"userfaultfd: {(Errno)(int)-fd}";
            return false;
        }

        int mine = pidfd_getfd(pidfd, (int)fd, 0);
        Errno getError = Interop.LastErrno;
        SyscallInjector.Call(t, Nr.Close, fd);
        if (mine < 0)
        {
            why = $"pidfd_getfd of the userfaultfd: {getError}";
            return false;
        }

        fcntl(mine, F_SETFD, FD_CLOEXEC);
        var api = new Interop.UffdioApi { api = UFFD_API, features = UFFD_FEATURE_WP_ASYNC };
        if (ioctl(mine, UFFDIO_API, &api) != 0)
        {
            why = $"UFFDIO_API with WP_ASYNC: {Interop.LastErrno}";
            close(mine);
            return false;
        }

        tracking.Uffd = mine;
        return true;
    }

    /// <summary>
    /// After an image: keeps the registrations that still stand, registers the private mappings that are not
    /// yet, and write-protects every registered range.
    /// </summary>
    public static void Protect(ProcessTracking tracking, List<MappedArea> areas)
    {
        var registered = new List<(ulong, ulong)>();
        foreach (MappedArea a in areas)
        {
            if (!Eligible(a))
            {
                continue;
            }

            bool ours = a.Has("uw") && tracking.IsRegistered(a.Start, a.End);
            if (!ours)
            {
                if (a.Has("uw") || a.Has("ui") || a.Has("um"))
                {
                    continue; // the app's own userfaultfd: stays untracked (full every time)
                }

                var reg = new Interop.UffdioRegister { start = a.Start, len = a.Length, mode = UFFDIO_REGISTER_MODE_WP };
                if (ioctl(tracking.Uffd, UFFDIO_REGISTER, &reg) != 0)
                {
                    continue;
                }
            }

            var wp = new Interop.UffdioWriteprotect { start = a.Start, len = a.Length, mode = UFFDIO_WRITEPROTECT_MODE_WP };
            if (ioctl(tracking.Uffd, UFFDIO_WRITEPROTECT, &wp) == 0)
            {
                registered.Add((a.Start, a.End));
            }
        }

        tracking.Registered = registered;
    }

    /// <summary>
    /// Private anonymous mappings (the heap, stacks, malloc arenas) that are not device memory. Mappings of files
    /// are not registered: write-protecting them installs markers on their unpopulated entries, which
    /// PAGEMAP_SCAN reports like swapped pages; their copied-on-write pages are compared by hash instead.
    /// </summary>
    public static bool Eligible(MappedArea a) =>
        !a.Shared && a.Ino == 0 && !a.Has("io") && !a.Has("pf") &&
        !(a.IsPseudo && a.PathText is "[vdso]" or "[vvar]" or "[vvar_vclock]" or "[vsyscall]" or "[uprobes]");
}
