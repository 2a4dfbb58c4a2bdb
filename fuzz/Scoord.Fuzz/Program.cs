static class F { static void Main() {} }
