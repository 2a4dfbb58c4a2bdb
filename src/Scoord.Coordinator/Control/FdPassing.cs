using Scoord.Interceptors;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Control;

/// <summary>
/// File descriptors over the control socket (SCM_RIGHTS): one byte carries them. Used by a joining
/// `scoord run` to hand its stdin, stdout and stderr to the coordinator. Received descriptors are
/// close-on-exec (MSG_CMSG_CLOEXEC) so that nothing but the joined program gets them.
/// </summary>
internal static unsafe class FdPassing
{
    public const int MaxFds = 8;

    private static int Align8(int n) => (n + 7) & ~7;

    private static int ControlSpace(int count) => sizeof(Interop.CMsgHdr) + Align8(count * sizeof(int));

    /// <summary>Sends one byte with <paramref name="fds"/> attached; throws <see cref="ScoordException"/> on failure.</summary>
    public static void Send(int socketFd, ReadOnlySpan<int> fds)
    {
        if (fds.Length is 0 or > MaxFds)
        {
            throw new ArgumentOutOfRangeException(nameof(fds));
        }

        byte payload = (byte)'F';
        int space = ControlSpace(fds.Length);
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        var header = (Interop.CMsgHdr*)control;
        header->cmsg_len = (nuint)(sizeof(Interop.CMsgHdr) + (fds.Length * sizeof(int)));
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        fds.CopyTo(new Span<int>(control + sizeof(Interop.CMsgHdr), fds.Length));
        var iov = new Interop.IoVec { iov_base = &payload, iov_len = 1 };
        var msg = new Interop.MsgHdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (nuint)space };
        while (true)
        {
            nint n = sendmsg(socketFd, &msg, MSG_NOSIGNAL);
            if (n == 1)
            {
                return;
            }

            if (n < 0 && Interop.LastErrno == Errno.EINTR)
            {
                continue;
            }

            throw new ScoordException($"cannot hand the terminal/stdio to the coordinator: {Interop.LastErrno}");
        }
    }

    /// <summary>
    /// Receives the byte sent by <see cref="Send"/> within <paramref name="timeoutMs"/> and returns the
    /// descriptors it carried (exactly <paramref name="count"/>, else all are closed and it throws).
    /// </summary>
    public static int[] Receive(int socketFd, int count, int timeoutMs)
    {
        var pfd = new Interop.PollFd { fd = socketFd, events = POLLIN };
        int ready;
        do
        {
            ready = poll(&pfd, 1, timeoutMs);
        }
        while (ready < 0 && Interop.LastErrno == Errno.EINTR);
        if (ready <= 0)
        {
            throw new ScoordException("the joining scoord run did not send its stdio in time");
        }

        byte payload = 0;
        int space = ControlSpace(MaxFds);
        byte* control = stackalloc byte[space];
        new Span<byte>(control, space).Clear();
        var iov = new Interop.IoVec { iov_base = &payload, iov_len = 1 };
        var msg = new Interop.MsgHdr { msg_iov = &iov, msg_iovlen = 1, msg_control = control, msg_controllen = (nuint)space };
        nint n;
        do
        {
            n = recvmsg(socketFd, &msg, MSG_CMSG_CLOEXEC);
        }
        while (n < 0 && Interop.LastErrno == Errno.EINTR);
        if (n != 1)
        {
            throw new ScoordException("the joining scoord run closed the connection before sending its stdio");
        }

        var received = new List<int>();
        var header = (Interop.CMsgHdr*)control;
        if (msg.msg_controllen >= (nuint)sizeof(Interop.CMsgHdr) && header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS)
        {
            int fdCount = ((int)header->cmsg_len - sizeof(Interop.CMsgHdr)) / sizeof(int);
            int* fdp = (int*)(control + sizeof(Interop.CMsgHdr));
            for (int i = 0; i < fdCount && i < MaxFds; i++)
            {
                received.Add(fdp[i]);
            }
        }

        if (received.Count != count || (msg.msg_flags & 0x8) != 0) // MSG_CTRUNC
        {
            foreach (int fd in received)
            {
                close(fd);
            }

            throw new ScoordException($"the joining scoord run sent {received.Count} descriptors, expected {count}");
        }

        return [.. received];
    }
}
