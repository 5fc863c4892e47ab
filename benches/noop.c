/* The runtime the benchmarks exec: it exits 0 at once, with no dynamic
 * loader and no libc, so the direct side measures exec itself and the
 * shim's peak memory is not hidden behind the runtime's. Built by
 * benches/shim.rs with `cc -nostdlib -static`. */
void _start(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall");
#elif defined(__aarch64__)
	__asm__ volatile("mov x8, #94\n\tmov x0, #0\n\tsvc #0");
#else
#error "no-op runtime: add this architecture's exit_group system call"
#endif
	for (;;) {
	}
}
