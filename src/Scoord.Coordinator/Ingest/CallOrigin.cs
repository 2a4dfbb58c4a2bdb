namespace Scoord.Coordinator.Ingest;

/// <summary>Who made a call and when it was seen: the thread group, the thread, CLOCK_REALTIME in ns.</summary>
internal readonly record struct CallOrigin(int Pid, int Tid, long TimeNs);
