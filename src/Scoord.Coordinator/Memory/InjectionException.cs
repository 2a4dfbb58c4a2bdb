using Scoord.Journal;

namespace Scoord.Coordinator.Memory;

/// <summary>A syscall could not be run inside a tracee (it died, or it is in a state that allows none).</summary>
internal sealed class InjectionException(string message) : ScoordException(message);
