using System.Collections.Concurrent;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Tracing;

/// <summary>
/// How other threads reach the tracer thread, which spends its time blocked in waitpid and is the only
/// thread that may make ptrace calls: they queue a request and ring the doorbell, a tiny filterless
/// tracee (`scoord-launch --doorbell FD`) blocked in read() on a pipe, whose syscall stop wakes the
/// tracer thread. Requests are accepted until the application has exited (<see cref="Close"/>).
/// </summary>
internal sealed unsafe class Doorbell
{
    private readonly Lock _gate = new();
    private int _write = -1;
    private bool _accepting = true;
    private bool _held;

    /// <summary>The doorbell tracee; 0 when there is none (not started, failed, or gone).</summary>
    public int Pid { get; private set; }

    /// <summary>Rung and not yet closed.</summary>
    public bool IsOpen => _write >= 0;

    /// <summary>Starts the doorbell tracee (on the tracer thread, which must be its tracer).</summary>
    public void Start(string launcherPath)
    {
        int* fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
        {
            return;
        }

        int childFd = fcntl(fds[0], F_DUPFD, 3);
        close(fds[0]);
        _write = fds[1];
        Pid = Launch.Launcher.SpawnPlain(launcherPath, ["scoord-launch", "--doorbell", childFd.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        close(childFd);
        if (Pid > 0 && ptrace(PTRACE_SEIZE, Pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL) == 0)
        {
            // It is running (blocked in read): make its next syscall boundary stop.
            ptrace(PTRACE_INTERRUPT, Pid, 0, 0);
        }
        else
        {
            Pid = 0;
        }

        Ring(); // the first ring makes it cycle once so the loop starts consistent
    }

    public void Ring()
    {
        byte b = 1;
        if (_write >= 0)
        {
            write(_write, &b, 1);
        }
    }

    /// <summary>Queues <paramref name="item"/> unless the application has exited (any thread).</summary>
    public bool TryEnqueue<T>(ConcurrentQueue<T> queue, T item)
    {
        lock (_gate)
        {
            if (!_accepting)
            {
                return false;
            }

            queue.Enqueue(item);
            return true;
        }
    }

    /// <summary>
    /// Rings at once and waits for <paramref name="done"/>, ringing again every 200 ms in case the doorbell
    /// was between reads (any thread but the tracer's). Task.Wait would wrap a failure in an
    /// AggregateException: this waits on the handle and lets GetResult throw the exception itself.
    /// </summary>
    public T RingUntil<T>(Task<T> done)
    {
        do
        {
            Ring();
        }
        while (!((IAsyncResult)done).AsyncWaitHandle.WaitOne(TimeSpan.FromMilliseconds(200)));

        return done.GetAwaiter().GetResult();
    }

    /// <summary>A stop of the doorbell seen during a barrier: it is resumed when the barrier ends.</summary>
    public void Hold() => _held = true;

    /// <summary>Lets it read again (at its stop, outside a barrier).</summary>
    public void Resume()
    {
        if (Pid > 0)
        {
            ptrace(PTRACE_SYSCALL, Pid, 0, 0);
        }
    }

    /// <summary>After a barrier: resumes it if it stopped meanwhile.</summary>
    public void ResumeHeld()
    {
        if (_held)
        {
            _held = false;
            ptrace(PTRACE_SYSCALL, Pid, 0, 0);
        }
    }

    /// <summary>The doorbell tracee exited.</summary>
    public void Gone() => Pid = 0;

    /// <summary>The application is gone: accept nothing more, kill the doorbell tracee.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _accepting = false;
        }
    }

    public void Kill()
    {
        if (Pid > 0)
        {
            kill(Pid, SIGKILL);
        }

        if (_write >= 0)
        {
            close(_write);
            _write = -1;
        }
    }
}
