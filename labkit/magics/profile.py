"""``%%profile cpu|lines|memory``: profile a cell with labkit.profilers."""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from labkit.errors import LabkitError, MeasurementError
from labkit.magics.cells import LabMagics, compile_cell, parse_magic_line, say_error, show_result


@magics_class
class ProfileMagics(LabMagics):
    # --- %%profile -------------------------------------------------------------------------
    @magic_arguments()
    @argument("kind", choices=["cpu", "lines", "memory"], help="which profiler")
    @argument("-f", "--function", action="append", default=[],
              help="(lines) a function to time line by line; repeat for several")  # fmt: skip
    @argument("-i", "--interval", type=float, default=0.001, help="(cpu) sampling interval, s")
    @argument("-b", "--backend", default="auto", choices=["auto", "memray", "tracemalloc"],
              help="(memory) backend")  # fmt: skip
    @argument("-o", "--output", action="store_true", help="return the profile result")
    @line_cell_magic
    def profile(self, line: str, cell: str | None = None) -> Any:
        """``%%profile cpu|lines|memory``: profile the cell; its variables stay defined."""
        if cell is None:
            print(
                "%%profile is a cell magic: put it on the first line of the cell", file=sys.stderr
            )
            return None
        try:
            options = parse_magic_line(ProfileMagics.profile, line)
            code = compile_cell(self.ip, cell)
            profiler = self._profiler(options)
            with profiler:
                value = code.run(self.ip.user_ns)
        except LabkitError as exc:
            say_error(exc)
            return None
        return self._after_profile(profiler.result, options.output, value)

    async def profile_async(self, line: str, cell: str) -> Any:
        options = parse_magic_line(ProfileMagics.profile, line)
        code = compile_cell(self.ip, cell, is_async=True)
        profiler = self._profiler(options)
        async with profiler:
            value = await code.arun(self.ip.user_ns)
        return self._after_profile(profiler.result, options.output, value)

    def _profiler(self, options: Any) -> Any:
        from labkit.profilers import cpu_profile, line_profile, memory_profile

        if options.kind == "cpu":
            return cpu_profile(interval=options.interval)
        if options.kind == "memory":
            return memory_profile(options.backend)
        if not options.function:
            raise MeasurementError("name the functions: %%profile lines -f my_function [-f other]")
        functions = []
        for name in options.function:
            try:
                functions.append(eval(name, self.ip.user_ns))
            except Exception:
                raise MeasurementError(f"no function named {name!r} is defined here") from None
        return line_profile(*functions)

    @staticmethod
    def _after_profile(result: Any, output: bool, value: Any) -> Any:
        if output:
            return result
        show_result(result)
        return value
