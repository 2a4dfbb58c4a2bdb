namespace Scoord.Coordinator.Control;

/// <summary>
/// A background thread that does one round of work every interval until disposed; the interval is
/// measured from the end of one round to the start of the next, so rounds never overlap. The
/// --checkpoint-every timers build on it.
/// </summary>
public abstract class PeriodicThread : IDisposable
{
    private readonly TimeSpan _interval;
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private bool _disposed;

    protected PeriodicThread(TimeSpan interval, string threadName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _interval = interval;
        _thread = new Thread(Loop) { Name = threadName, IsBackground = true };
    }

    /// <summary>Dispose has been called: a round in progress should end.</summary>
    protected bool Stopping => _stop.IsSet;

    /// <summary>Waits up to <paramref name="timeout"/>; true when the thread is being stopped.</summary>
    protected bool WaitForStop(TimeSpan timeout) => _stop.Wait(timeout);

    /// <summary>One round of work (on the thread).</summary>
    protected abstract void Round();

    /// <summary>Starts the thread (once the derived object is fully built).</summary>
    protected void StartThread() => _thread.Start();

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    private void Loop()
    {
        while (!_stop.Wait(_interval))
        {
            Round();
        }
    }
}
