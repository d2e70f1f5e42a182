/* edgebnn emulator firmware: vector table and reset handler for the QEMU
 * MPS2 boards (Cortex-M3/M4/M7/M33), linked with newlib's rdimon (semihosting)
 * and -nostartfiles.  The reset handler copies .data, zeroes .bss, enables the
 * FPU when the build has one, opens the semihosting stdio handles and calls
 * exit(main()), which hands main's status back to QEMU.
 * A fault ends the run with status EMU_FAULT_STATUS (the exception number is
 * added, so 103 is a hard fault). */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define EMU_FAULT_STATUS 100
#define EMU_CPACR (*(volatile uint32_t *)0xE000ED88u)

extern uint32_t __emu_data_load[], __emu_data_start[], __emu_data_end[];
extern uint32_t __emu_bss_start[], __emu_bss_end[], __emu_stack_top[];

int main(void);
void initialise_monitor_handles(void);
void emu_systick_handler(void); /* emu_main.c */
void emu_reset_handler(void);
void _init(void);
void _fini(void);

/* newlib's __libc_init_array and exit call these; crti/crtn are not linked. */
void _init(void) {}
void _fini(void) {}

static void emu_fault(void)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    _exit(EMU_FAULT_STATUS + (int)(ipsr & 0x1ffu));
}

void emu_reset_handler(void)
{
    uint32_t *src = __emu_data_load, *dst = __emu_data_start;
    while (dst < __emu_data_end) {
        *dst++ = *src++;
    }
    for (dst = __emu_bss_start; dst < __emu_bss_end; dst++) {
        *dst = 0;
    }
#if defined(__ARM_FP)
    EMU_CPACR |= 0xFu << 20; /* CP10 and CP11: full access */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    initialise_monitor_handles();
    exit(main());
}

/* Cortex-M exception numbers 0..15: initial SP, reset, NMI, HardFault,
 * MemManage, BusFault, UsageFault, SecureFault (v8-M), 3 reserved, SVCall,
 * DebugMonitor, reserved, PendSV, SysTick. */
__attribute__((section(".emu_vectors"), used))
static const uintptr_t emu_vectors[16] = {
    (uintptr_t)__emu_stack_top,
    (uintptr_t)emu_reset_handler,
    (uintptr_t)emu_fault, (uintptr_t)emu_fault, (uintptr_t)emu_fault,
    (uintptr_t)emu_fault, (uintptr_t)emu_fault, (uintptr_t)emu_fault,
    0, 0, 0,
    (uintptr_t)emu_fault, (uintptr_t)emu_fault, 0, (uintptr_t)emu_fault,
    (uintptr_t)emu_systick_handler,
};
