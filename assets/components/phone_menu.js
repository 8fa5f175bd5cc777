// Phones: once a page is chosen from the sidebar's menu, close the sidebar so the chosen page is what the visitor
// sees. Streamlit's narrow layout keeps it open over most of the screen after a menu tap.
const NARROW_PX = 768; // below this width Streamlit lays the sidebar over the page instead of beside it

function closeSidebar() {
  const sidebar = document.querySelector('[data-testid="stSidebar"]');
  const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (sidebar && sidebar.getAttribute("data-collapsed") !== "true" && button) button.click();
}

export default function () {
  if (window.__latentLabPhoneMenu) return; // one listener per browser tab, however often the sidebar reruns
  window.__latentLabPhoneMenu = true;
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element && event.target.closest('[data-testid="stSidebarNavLink"]');
    if (!link || window.innerWidth >= NARROW_PX) return;
    // After Streamlit has handled the click (it routes on the same event), so the navigation is not cancelled.
    setTimeout(closeSidebar, 0);
  });
}
