using System.Globalization;
using Scoord.Interceptors;
using Scoord.Journal.Memory;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Memory;

/// <summary>
/// The pipes of a memory image, made again in scoord before any process is rebuilt: each pipe with its capacity
/// and its unread bytes written back into it, and one descriptor in scoord per open file description of the
/// image (an end reopened through /proc/self/fd with the description's flags: access mode, O_NONBLOCK). A
/// rebuilt process takes its descriptors from scoord with pidfd_getfd (<see cref="ProcessRestorer"/>), so every
/// fd that shared a description in the image shares one again, across processes too. scoord's own ends are
/// closed once the descriptions are open, and the descriptions once the processes hold them: a pipe whose
/// readers (or writers) had all gone in the image has none after the restore either.
/// </summary>
internal sealed unsafe class RestoredPipes : IDisposable
{
    private const int F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032;
    private readonly Dictionary<int, int> _byObject = new();

    public RestoredPipes(MemoryImage image)
    {
        try
        {
            foreach (PipeImage pipe in image.Pipes)
            {
                Make(pipe, image.Objects);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>scoord's descriptor of the image's open file description <paramref name="objectId"/> (a pipe end).</summary>
    public int FdOf(int objectId) => _byObject.TryGetValue(objectId, out int fd)
        ? fd
        : throw new InjectionException(string.Create(CultureInfo.InvariantCulture, $"the image's pipe description {objectId} was not made"));

    private void Make(PipeImage pipe, List<FileObject> objects)
    {
        int* p = stackalloc int[2];
        if (pipe.FifoPath is null)
        {
            if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
            {
                throw new InjectionException($"cannot make pipe {pipe.Id}: {Interop.LastErrno}");
            }
        }
        else
        {
            // A FIFO: opened read-write it neither blocks nor lacks a peer; its pipe is the one every open of the path joins.
            p[0] = OpenPath(pipe.FifoPath, O_RDWR | O_NONBLOCK | O_CLOEXEC, $"cannot open the FIFO {ProcFile.Text(pipe.FifoPath)}");
            p[1] = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
        }

        try
        {
            if (pipe.Capacity > 0 && fcntl(p[1], F_GETPIPE_SZ, 0) != pipe.Capacity && fcntl(p[1], F_SETPIPE_SZ, pipe.Capacity) < 0)
            {
                throw new InjectionException($"cannot give pipe {pipe.Id} its capacity of {pipe.Capacity} bytes: {Interop.LastErrno}");
            }

            WriteAll(p[1], pipe);
            foreach (FileObject o in objects)
            {
                if (o.Kind == FileObjectKind.Pipe && o.Pipe == pipe.Id)
                {
                    // A new open file description of the same pipe, with the image's flags (the ends we hold keep the open from blocking).
                    int end = (o.Flags & O_ACCMODE) == O_WRONLY ? p[1] : p[0];
                    byte[] self = System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"/proc/self/fd/{end}"));
                    _byObject[o.Id] = OpenPath(self, (o.Flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | O_CLOEXEC, $"cannot open pipe {pipe.Id} again");
                }
            }
        }
        finally
        {
            close(p[0]);
            close(p[1]);
        }
    }

    private static void WriteAll(int fd, PipeImage pipe)
    {
        fixed (byte* d = pipe.Unread)
        {
            int done = 0;
            while (done < pipe.Unread.Length)
            {
                nint n = write(fd, d + done, (nuint)(pipe.Unread.Length - done));
                if (n <= 0)
                {
                    throw new InjectionException($"cannot put the {pipe.Unread.Length} unread bytes back into pipe {pipe.Id} (capacity {pipe.Capacity}): {Interop.LastErrno}");
                }

                done += (int)n;
            }
        }
    }

    private static int OpenPath(byte[] path, int flags, string what)
    {
        byte[] z = new byte[path.Length + 1];
        path.CopyTo(z, 0);
        fixed (byte* s = z)
        {
            int fd = open(s, flags, 0);
            if (fd < 0)
            {
                throw new InjectionException($"{what}: {Interop.LastErrno}");
            }

            return fd;
        }
    }

    public void Dispose()
    {
        foreach (int fd in _byObject.Values)
        {
            close(fd);
        }

        _byObject.Clear();
    }
}
