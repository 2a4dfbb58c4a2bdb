namespace Scoord.Coordinator.Tracing;

internal static class Clock
{
    /// <summary>CLOCK_REALTIME in ns since the Unix epoch, without allocating.</summary>
    public static long NowNs() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;
}
