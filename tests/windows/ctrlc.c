/* Test-only helper for tests/windows/run: starts a command on the same console, waits
 * DELAY_MS, sends it a console control event with GenerateConsoleCtrlEvent, waits for it
 * and exits with its exit code. Usage: ctrlc.exe c|break DELAY_MS PROGRAM [ARGS...]
 * "c" sends CTRL_C_EVENT to every process of the console (this helper ignores it by its
 * own handler); "break" starts the command in a new process group and sends it
 * CTRL_BREAK_EVENT. Arguments are re-quoted simply (no embedded quotes). */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

static BOOL WINAPI ignore(DWORD event)
{
    (void)event;
    return TRUE;
}

int wmain(int argc, wchar_t **argv)
{
    wchar_t cmd[32768] = L"";
    STARTUPINFOW si = {sizeof(si)};
    PROCESS_INFORMATION pi;
    DWORD code = 1, flags = 0, event = CTRL_C_EVENT, group = 0;
    int i;
    if (argc < 4) {
        fwprintf(stderr, L"usage: ctrlc.exe c|break DELAY_MS PROGRAM [ARGS...]\n");
        return 2;
    }
    if (!wcscmp(argv[1], L"break")) {
        flags = CREATE_NEW_PROCESS_GROUP;
        event = CTRL_BREAK_EVENT;
    }
    for (i = 3; i < argc; i++) {
        wcscat(cmd, L"\"");
        wcscat(cmd, argv[i]);
        wcscat(cmd, i + 1 < argc ? L"\" " : L"\"");
    }
    SetConsoleCtrlHandler(ignore, TRUE);
    if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, flags, NULL, NULL, &si, &pi)) {
        fwprintf(stderr, L"ctrlc: CreateProcess failed: %lu\n", GetLastError());
        return 2;
    }
    if (WaitForSingleObject(pi.hProcess, (DWORD)_wtoi(argv[2])) == WAIT_TIMEOUT) {
        if (event == CTRL_BREAK_EVENT)
            group = pi.dwProcessId;
        if (!GenerateConsoleCtrlEvent(event, group))
            fwprintf(stderr, L"ctrlc: GenerateConsoleCtrlEvent failed: %lu\n", GetLastError());
        else
            fwprintf(stderr, L"ctrlc: console control event sent\n");
    } else {
        fwprintf(stderr, L"ctrlc: the command ended before the event was due\n");
    }
    WaitForSingleObject(pi.hProcess, INFINITE);
    GetExitCodeProcess(pi.hProcess, &code);
    return (int)code;
}
