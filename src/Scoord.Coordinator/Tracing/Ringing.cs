namespace Scoord.Coordinator.Tracing;

/// <summary>Waits for a request the tracer answers, without a thread blocked meanwhile.</summary>
internal static class Ringing
{
    /// <summary>Rings at once and again every 200 ms (the doorbell may have been between reads) until <paramref name="done"/>.</summary>
    public static async Task<T> Until<T>(Task<T> done, Action ring)
    {
        ring();
        while (await Task.WhenAny(done, Task.Delay(200)).ConfigureAwait(false) != done)
        {
            ring();
        }

        return await done.ConfigureAwait(false);
    }
}
