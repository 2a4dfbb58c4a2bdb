using System.Globalization;

namespace Scoord.Cli.Output;

/// <summary>Journal times (ns since the Unix epoch, CLOCK_REALTIME) as text.</summary>
internal static class TimeText
{
    public static DateTimeOffset FromNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    /// <summary>RFC 3339, UTC, microseconds: 2025-11-24T11:40:00.123456Z.</summary>
    public static string Rfc3339Utc(long ns) =>
        FromNs(ns).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    public static string Rfc3339Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Local wall-clock time of day with microseconds, for the table.</summary>
    public static string LocalTimeOfDay(long ns) =>
        FromNs(ns).ToLocalTime().ToString("HH:mm:ss.ffffff", CultureInfo.InvariantCulture);
}
