public enum KernelBuild {}
