--[[ course.lua: site-side fixes for the lesson pages (HTML only; the notebooks stay as they are).

Listed in _quarto.yml under `filters` with `at: pre-ast`, so it runs before Quarto turns paragraphs
into figures and folds code. For HTML output it
  1. keeps the Colab badge an inline badge: a paragraph that holds only a linked image of
     colab-badge.svg would become a centred figure with "Open In Colab" as its caption, so the link
     is wrapped in a span (class `colab-badge`), and its image is the site's own copy,
     images/colab-badge.svg, so that the page sends no request to a third party;
  2. folds the Colab install cell (a code cell that runs `pip install` under
     `if "google.colab" in sys.modules:`) behind a one-line summary, so that a lesson page starts
     with its text while the notebook keeps the cell first for Colab;
  3. serves the course's own figures from the site: an image at
     https://raw.githubusercontent.com/<owner>/<repo>/<branch>/images/<file> (the URL the notebooks
     use, so that they show in Colab too) becomes the relative path <offset>/images/<file> when
     images/<file> exists in the project, so that the page does not depend on GitHub and the render
     test can check that the file is there; the markdown's alt text, which Quarto shows as the
     caption, is kept as the image's alt text (`fig-alt`);
  4. in the student edition (profile `student`), drops the "CPU run time" column of a table (the
     index's lessons table): those times were measured with the solution cells, which the student
     copies leave out; each copy prints its own run time when it is run.
Other formats (the downloadable .ipynb) are left alone.
]]

local BADGE_IMAGE = "colab%-badge%.svg"
local INSTALL_SUMMARY = "Colab only: install the course's helper package"
local RAW_IMAGE = "^https://raw%.githubusercontent%.com/[^/]+/[^/]+/[^/]+/(images/[^?#]+)$"

local function is_html()
  return quarto.doc.is_format("html")
end

local function file_exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

local function is_colab_badge_link(inline)
  return inline.t == "Link" and #inline.content == 1 and inline.content[1].t == "Image"
    and inline.content[1].src:find(BADGE_IMAGE) ~= nil
end

local function local_image(src)
  local rel = src:match(RAW_IMAGE)
  if rel == nil then
    return nil
  end
  local project = quarto.project.directory or "."
  if not file_exists(project .. "/" .. rel) then
    return nil
  end
  local offset = quarto.project.offset or "."
  return offset .. "/" .. rel
end

local RUN_TIME_HEADER = "CPU run time"

local function is_student()
  local profiles = quarto.project.profile or quarto.project.profiles or {}
  for _, name in ipairs(profiles) do
    if name == "student" then
      return true
    end
  end
  return false
end

local function drop_column(rows, index)
  for _, row in ipairs(rows) do
    row.cells:remove(index)
  end
end

return {
  {
    Table = function(tbl)
      if not is_html() or not is_student() or #tbl.head.rows == 0 then
        return nil
      end
      local index = nil
      for i, cell in ipairs(tbl.head.rows[1].cells) do
        if pandoc.utils.stringify(cell.contents) == RUN_TIME_HEADER then
          index = i
        end
      end
      if index == nil then
        return nil
      end
      tbl.colspecs:remove(index)
      drop_column(tbl.head.rows, index)
      for _, body in ipairs(tbl.bodies) do
        drop_column(body.body, index)
      end
      return tbl
    end,

    Para = function(para)
      if not is_html() then
        return nil
      end
      local content = para.content:filter(function(inline)
        return inline.t ~= "Space" and inline.t ~= "SoftBreak"
      end)
      if #content == 1 and is_colab_badge_link(content[1]) then
        -- The badge image is the site's own copy (images/colab-badge.svg): no request to Google.
        local offset = quarto.project.offset or "."
        content[1].content[1].src = offset .. "/images/colab-badge.svg"
        return pandoc.Para({ pandoc.Span({ content[1] }, pandoc.Attr("", { "colab-badge" })) })
      end
      return nil
    end,

    CodeBlock = function(block)
      if not is_html() or not block.classes:includes("cell-code") then
        return nil
      end
      local text = block.text
      if text:find("[\"']google%.colab[\"']%s+in%s+sys%.modules") and text:find("pip%s+install") then
        block.attributes["code-fold"] = "true"
        block.attributes["code-summary"] = INSTALL_SUMMARY
        return block
      end
      return nil
    end,

    Image = function(image)
      if not is_html() then
        return nil
      end
      local path = local_image(image.src)
      if path ~= nil then
        image.src = path
        -- The markdown's alt text becomes the figure's caption; keep it as the image's alt text too.
        if image.attributes["fig-alt"] == nil and #image.caption > 0 then
          image.attributes["fig-alt"] = pandoc.utils.stringify(image.caption)
        end
        return image
      end
      return nil
    end,
  },
}
