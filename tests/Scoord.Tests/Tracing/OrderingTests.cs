using Scoord.Tests.Support;

namespace Scoord.Tests.Tracing;

/// <summary>Journal order between concurrent threads is an order the kernel could have executed.</summary>
public sealed class OrderingTests
{
    [Fact]
    public void ConcurrentWritesToTheSameBytes_LastJournaledWriterOfEachSlotIsTheFinalContent()
    {
        using var t = new TracedRun();
        string exe = TracedRun.Compile(t.JournalTree, "racers", """
            #include <fcntl.h>
            #include <pthread.h>
            #include <stdio.h>
            #include <string.h>
            #include <unistd.h>
            static int fd;
            static void *work(void *arg) {
                int i = (int)(long)arg;
                char name[32], buf[10];
                snprintf(name, sizeof name, "thread-%d", i);
                close(open(name, O_WRONLY | O_CREAT, 0644)); /* tells the test this tid is thread i */
                memset(buf, '0' + i, sizeof buf);
                for (int k = 0; k < 1000; k++)
                    pwrite(fd, buf, sizeof buf, (k % 16) * 10);
                return 0;
            }
            int main(void) {
                pthread_t th[4];
                fd = open("same.txt", O_RDWR | O_CREAT, 0644);
                for (long i = 0; i < 4; i++) pthread_create(&th[i], 0, work, (void *)i);
                for (int i = 0; i < 4; i++) pthread_join(th[i], 0);
                return 0;
            }
            """, "-O2", "-pthread");
        CliResult run = t.Run(exe);
        Assert.True(run.ExitCode == 0, run.ToString());
        IReadOnlyList<LogLine> log = t.Log();
        var digitOfTid = new Dictionary<int, char>();
        for (int i = 0; i < 4; i++)
        {
            LogLine marker = log.Single(l => l.Op == "openat" && l.Path == t.Path($"thread-{i}"));
            digitOfTid[marker.Tid!.Value] = (char)('0' + i);
        }

        string content = File.ReadAllText(t.Path("same.txt"));
        List<LogLine> writes = log.Where(l => l.Op == "pwrite64" && l.Path == t.Path("same.txt")).OrderBy(l => l.Seq).ToList();
        Assert.Equal(4 * 1000, writes.Count);
        for (int slot = 0; slot < 16; slot++)
        {
            LogLine last = writes.Last(w => w.Offset == slot * 10);
            Assert.True(content[slot * 10] == digitOfTid[last.Tid!.Value],
                $"slot {slot}: the journal says thread {digitOfTid[last.Tid!.Value]} wrote last (seq {last.Seq}), the file holds {content[slot * 10]}");
        }
    }
}
