--[[
tpost_tsv.lua: the reader of tsharkpost's fact tables (tables/*.tsv), for tsharkpost.lua.

Tab-separated text, UTF-8, '#' comment lines; fails loudly (a Lua error naming file and line)
on a missing file, a missing column, a short row or a row its validator rejects, so that a
broken table stops the plugin at load time instead of silently dropping facts.
Side-effect free: returns a table of functions, defines no globals and reads a file only when
asked to (Wireshark loads every .lua under its plugins folder, this one included: that is
harmless). Lua 5.2 to 5.4.

    tsv.split(line)                      -> the line's fields, split at every tab
    tsv.read(path, required, validate)   -> list of rows
]]

local sub = string.sub

local tsv = {}

local function split_tabs(line)
    local out, start = {}, 1
    while true do
        local tab = string.find(line, "\t", start, true)
        if not tab then
            out[#out + 1] = sub(line, start)
            return out
        end
        out[#out + 1] = sub(line, start, tab - 1)
        start = tab + 1
    end
end
tsv.split = split_tabs

-- Rows of the TSV file at `path`, each a table column name -> text. The first line that is
-- neither empty nor a '#' comment is the header; `required` lists the columns it must have;
-- every row must have as many columns as the header; `validate(row)`, when given, returns a
-- problem (text) or nil. Any failure raises one line naming the file (and line).
function tsv.read(path, required, validate)
    local handle, open_error = io.open(path, "r")
    if not handle then
        error(("tsharkpost: cannot read fact table %s (%s)"):format(path, tostring(open_error)), 0)
    end
    local header, rows, lineno = nil, {}, 0
    for line in handle:lines() do
        lineno = lineno + 1
        line = string.gsub(line, "\r$", "")
        if line ~= "" and sub(line, 1, 1) ~= "#" then
            local cols = split_tabs(line)
            if not header then
                header = cols
                local have = {}
                for _, col in ipairs(cols) do have[col] = true end
                for _, col in ipairs(required) do
                    if not have[col] then
                        handle:close()
                        error(("tsharkpost: %s: header lacks column %q"):format(path, col), 0)
                    end
                end
            else
                if #cols ~= #header then
                    handle:close()
                    error(("tsharkpost: %s:%d: %d columns, header has %d"):format(
                        path, lineno, #cols, #header), 0)
                end
                local row = {}
                for i, col in ipairs(header) do row[col] = cols[i] end
                local problem = validate and validate(row)
                if problem then
                    handle:close()
                    error(("tsharkpost: %s:%d: %s"):format(path, lineno, problem), 0)
                end
                rows[#rows + 1] = row
            end
        end
    end
    handle:close()
    if not header or #rows == 0 then
        error(("tsharkpost: %s has no rows"):format(path), 0)
    end
    return rows
end

return tsv
